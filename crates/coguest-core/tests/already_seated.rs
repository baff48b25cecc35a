//! A user seated by one path closes its other requests with `AlreadySeated`.
mod sim;
use expect_test::expect;
use sim::check;

#[test]
fn accepting_an_invitation_closes_the_application() {
    check(
        "
        join owner owner
        join bob audience
        bob apply any 30
        owner invite bob any 30
        bob accept-invitation owner
        view owner
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(9)=[0:owner]
            > join bob audience
              ok
              v2 @hosts+bob candidates+bob
            > bob apply any 30
              ok request=1
              v3 @hosts+bob applicants+bob (request=1 seat=any deadline=+30s)
              v3 @hosts+bob candidates-bob
              v3 @bob queue 1/1
              v3 @hosts-but-bob guest_application_received guest=bob request=1 seat=any extra=-
            > owner invite bob any 30
              ok request=2
              v4 @hosts+bob invitees+bob<-owner (request=2 seat=any deadline=+30s)
              v4 @bob host_invitation_received host=owner request=2 seat=any extra=-
            > bob accept-invitation owner
              ok
              v5 @hosts+bob invitees-bob<-owner
              v5 @hosts+bob applicants-bob
              v5 @room seats(9)=[0:owner 1:bob]
              v5 @bob queue -
              v5 @owner host_invitation_responded accepted=true guest=bob
              v5 @bob guest_application_no_response reason=AlreadySeated
            > view owner
              view v5 connected=[0:owner 1:bob] applicants=[] invitees=[] candidates=[]
                   seats(9)=[0:owner 1:bob] mode=ApplyToTake
        "#]],
    );
}

#[test]
fn one_of_two_invitations_accepted_closes_the_other() {
    check(
        "
        join owner owner
        join admin admin
        join bob audience
        owner invite bob any 30
        admin invite bob 4 30
        bob accept-invitation admin
        bob accept-invitation owner
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(9)=[0:owner]
            > join admin admin
              ok
              v2 @hosts+admin candidates+admin
            > join bob audience
              ok
              v3 @hosts+bob candidates+bob
            > owner invite bob any 30
              ok request=1
              v4 @hosts+bob invitees+bob<-owner (request=1 seat=any deadline=+30s)
              v4 @hosts+bob candidates-bob
              v4 @bob host_invitation_received host=owner request=1 seat=any extra=-
            > admin invite bob 4 30
              ok request=2
              v5 @hosts+bob invitees+bob<-admin (request=2 seat=4 deadline=+30s)
              v5 @bob host_invitation_received host=admin request=2 seat=4 extra=-
            > bob accept-invitation admin
              ok
              v6 @hosts+bob invitees-bob<-admin
              v6 @hosts+bob invitees-bob<-owner
              v6 @room seats(9)=[0:owner 4:bob]
              v6 @admin host_invitation_responded accepted=true guest=bob
              v6 @owner host_invitation_no_response guest=bob reason=AlreadySeated
            > bob accept-invitation owner
              error: no pending invitation from owner to bob (it may have been processed already)
        "#]],
    );
}

#[test]
fn accepted_application_closes_pending_invitations() {
    check(
        "
        join owner owner
        join admin admin
        join bob audience
        admin invite bob any 30
        bob apply any 30
        owner accept-application bob
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(9)=[0:owner]
            > join admin admin
              ok
              v2 @hosts+admin candidates+admin
            > join bob audience
              ok
              v3 @hosts+bob candidates+bob
            > admin invite bob any 30
              ok request=1
              v4 @hosts+bob invitees+bob<-admin (request=1 seat=any deadline=+30s)
              v4 @hosts+bob candidates-bob
              v4 @bob host_invitation_received host=admin request=1 seat=any extra=-
            > bob apply any 30
              ok request=2
              v5 @hosts+bob applicants+bob (request=2 seat=any deadline=+30s)
              v5 @bob queue 1/1
              v5 @hosts-but-bob guest_application_received guest=bob request=2 seat=any extra=-
            > owner accept-application bob
              ok
              v6 @hosts+bob applicants-bob
              v6 @hosts+bob invitees-bob<-admin
              v6 @room seats(9)=[0:owner 1:bob]
              v6 @bob queue -
              v6 @bob guest_application_responded accepted=true host=owner
              v6 @hosts-but-owner guest_application_processed_by_other_host guest=bob host=owner
              v6 @admin host_invitation_no_response guest=bob reason=AlreadySeated
        "#]],
    );
}

#[test]
fn inviting_a_seated_user_answers_already_seated() {
    check(
        "
        join owner owner
        join bob audience
        bob apply any 30
        owner accept-application bob
        owner invite bob any 30
        bob apply any 30
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(9)=[0:owner]
            > join bob audience
              ok
              v2 @hosts+bob candidates+bob
            > bob apply any 30
              ok request=1
              v3 @hosts+bob applicants+bob (request=1 seat=any deadline=+30s)
              v3 @hosts+bob candidates-bob
              v3 @bob queue 1/1
              v3 @hosts-but-bob guest_application_received guest=bob request=1 seat=any extra=-
            > owner accept-application bob
              ok
              v4 @hosts+bob applicants-bob
              v4 @room seats(9)=[0:owner 1:bob]
              v4 @bob queue -
              v4 @bob guest_application_responded accepted=true host=owner
              v4 @hosts-but-owner guest_application_processed_by_other_host guest=bob host=owner
            > owner invite bob any 30
              ok
              v5 @owner host_invitation_no_response guest=bob reason=AlreadySeated
            > bob apply any 30
              error: you are already on seat 1
        "#]],
    );
}
