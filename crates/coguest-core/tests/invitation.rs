//! Hosts invite; the invitee accepts or rejects; the host cancels.
mod sim;
use expect_test::expect;
use sim::check;

#[test]
fn invite_then_accept() {
    check(
        "
        join owner owner
        join bob audience
        owner invite bob 2 30 {\"msg\":\"join\"}
        view bob
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
            > owner invite bob 2 30 {"msg":"join"}
              ok request=1
              v3 @hosts+bob invitees+bob<-owner (request=1 seat=2 deadline=+30s)
              v3 @hosts+bob candidates-bob
              v3 @bob host_invitation_received host=owner request=1 seat=2 extra={"msg":"join"}
            > view bob
              view v3 connected=[0:owner] applicants=[] invitees=[bob<-owner] candidates=[]
                   seats(9)=[0:owner] mode=ApplyToTake
            > bob accept-invitation owner
              ok
              v4 @hosts+bob invitees-bob<-owner
              v4 @room seats(9)=[0:owner 2:bob]
              v4 @owner host_invitation_responded accepted=true guest=bob
            > view owner
              view v4 connected=[0:owner 2:bob] applicants=[] invitees=[] candidates=[]
                   seats(9)=[0:owner 2:bob] mode=ApplyToTake
        "#]],
    );
}

#[test]
fn invite_then_reject_and_cancel() {
    check(
        "
        join owner owner
        join bob audience
        join carol audience
        owner invite bob any 30
        owner invite carol any 30
        bob reject-invitation owner
        owner cancel-invitation carol
        owner cancel-invitation carol
        carol accept-invitation owner
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(9)=[0:owner]
            > join bob audience
              ok
              v2 @hosts+bob candidates+bob
            > join carol audience
              ok
              v3 @hosts+carol candidates+carol
            > owner invite bob any 30
              ok request=1
              v4 @hosts+bob invitees+bob<-owner (request=1 seat=any deadline=+30s)
              v4 @hosts+bob candidates-bob
              v4 @bob host_invitation_received host=owner request=1 seat=any extra=-
            > owner invite carol any 30
              ok request=2
              v5 @hosts+carol invitees+carol<-owner (request=2 seat=any deadline=+30s)
              v5 @hosts+carol candidates-carol
              v5 @carol host_invitation_received host=owner request=2 seat=any extra=-
            > bob reject-invitation owner
              ok
              v6 @hosts+bob invitees-bob<-owner
              v6 @hosts+bob candidates+bob
              v6 @owner host_invitation_responded accepted=false guest=bob
            > owner cancel-invitation carol
              ok
              v7 @hosts+carol invitees-carol<-owner
              v7 @hosts+carol candidates+carol
              v7 @carol host_invitation_cancelled host=owner
            > owner cancel-invitation carol
              error: no pending invitation from owner to carol (it may have been processed already)
            > carol accept-invitation owner
              error: no pending invitation from owner to carol (it may have been processed already)
        "#]],
    );
}

#[test]
fn two_hosts_may_invite_the_same_user_but_not_twice_each() {
    check(
        "
        join owner owner
        join admin admin
        join bob audience
        owner invite bob any 30
        admin invite bob any 30
        owner invite bob any 30
        view owner
        view bob
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
            > admin invite bob any 30
              ok request=2
              v5 @hosts+bob invitees+bob<-admin (request=2 seat=any deadline=+30s)
              v5 @bob host_invitation_received host=admin request=2 seat=any extra=-
            > owner invite bob any 30
              error: you already have a pending invitation to bob
            > view owner
              view v5 connected=[0:owner] applicants=[] invitees=[bob<-owner bob<-admin] candidates=[admin]
                   seats(9)=[0:owner] mode=ApplyToTake
            > view bob
              view v5 connected=[0:owner] applicants=[] invitees=[bob<-owner bob<-admin] candidates=[]
                   seats(9)=[0:owner] mode=ApplyToTake
        "#]],
    );
}

#[test]
fn only_the_inviting_host_may_cancel() {
    check(
        "
        join owner owner
        join admin admin
        join bob audience
        owner invite bob any 30
        admin cancel-invitation bob
        bob cancel-invitation bob
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
            > admin cancel-invitation bob
              error: no pending invitation from admin to bob (it may have been processed already)
            > bob cancel-invitation bob
              error: only the owner or an admin may do this
        "#]],
    );
}

#[test]
fn invitee_must_be_in_the_room_and_not_the_host() {
    check(
        "
        join owner owner
        owner invite ghost any 30
        owner invite owner any 30
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(9)=[0:owner]
            > owner invite ghost any 30
              error: user ghost is not in this room
            > owner invite owner any 30
              error: you cannot invite yourself
        "#]],
    );
}

#[test]
fn accepting_an_invitation_fails_on_occupied_or_locked_seats_and_it_stays_pending() {
    check(
        "
        config seats=3
        join owner owner
        join bob audience
        join carol audience
        owner invite bob 1 30
        owner invite carol 1 30
        bob accept-invitation owner
        carol accept-invitation owner
        view carol
        owner cancel-invitation carol
        owner invite carol 2 30
        owner lock 2
        carol accept-invitation owner
        view owner
        owner unlock 2
        carol accept-invitation owner
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(3)=[0:owner]
            > join bob audience
              ok
              v2 @hosts+bob candidates+bob
            > join carol audience
              ok
              v3 @hosts+carol candidates+carol
            > owner invite bob 1 30
              ok request=1
              v4 @hosts+bob invitees+bob<-owner (request=1 seat=1 deadline=+30s)
              v4 @hosts+bob candidates-bob
              v4 @bob host_invitation_received host=owner request=1 seat=1 extra=-
            > owner invite carol 1 30
              ok request=2
              v5 @hosts+carol invitees+carol<-owner (request=2 seat=1 deadline=+30s)
              v5 @hosts+carol candidates-carol
              v5 @carol host_invitation_received host=owner request=2 seat=1 extra=-
            > bob accept-invitation owner
              ok
              v6 @hosts+bob invitees-bob<-owner
              v6 @room seats(3)=[0:owner 1:bob]
              v6 @owner host_invitation_responded accepted=true guest=bob
            > carol accept-invitation owner
              error: seat 1 is occupied
            > view carol
              view v6 connected=[0:owner 1:bob] applicants=[] invitees=[carol<-owner] candidates=[]
                   seats(3)=[0:owner 1:bob] mode=ApplyToTake
            > owner cancel-invitation carol
              ok
              v7 @hosts+carol invitees-carol<-owner
              v7 @hosts+carol candidates+carol
              v7 @carol host_invitation_cancelled host=owner
            > owner invite carol 2 30
              ok request=3
              v8 @hosts+carol invitees+carol<-owner (request=3 seat=2 deadline=+30s)
              v8 @hosts+carol candidates-carol
              v8 @carol host_invitation_received host=owner request=3 seat=2 extra=-
            > owner lock 2
              ok
              v9 @room seats(3)=[0:owner 1:bob 2:-{locked}]
            > carol accept-invitation owner
              error: seat 2 is locked
            > view owner
              view v9 connected=[0:owner 1:bob] applicants=[] invitees=[carol<-owner] candidates=[]
                   seats(3)=[0:owner 1:bob 2:-{locked}] mode=ApplyToTake
            > owner unlock 2
              ok
              v10 @room seats(3)=[0:owner 1:bob]
            > carol accept-invitation owner
              ok
              v11 @hosts+carol invitees-carol<-owner
              v11 @room seats(3)=[0:owner 1:bob 2:carol]
              v11 @owner host_invitation_responded accepted=true guest=carol
        "#]],
    );
}

#[test]
fn accepting_an_invitation_fails_when_all_seats_are_taken() {
    check(
        "
        config seats=2
        join owner owner
        join bob audience
        join carol audience
        owner invite bob any 30
        owner invite carol any 30
        bob accept-invitation owner
        carol accept-invitation owner
        view carol
        bob disconnect
        carol accept-invitation owner
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(2)=[0:owner]
            > join bob audience
              ok
              v2 @hosts+bob candidates+bob
            > join carol audience
              ok
              v3 @hosts+carol candidates+carol
            > owner invite bob any 30
              ok request=1
              v4 @hosts+bob invitees+bob<-owner (request=1 seat=any deadline=+30s)
              v4 @hosts+bob candidates-bob
              v4 @bob host_invitation_received host=owner request=1 seat=any extra=-
            > owner invite carol any 30
              ok request=2
              v5 @hosts+carol invitees+carol<-owner (request=2 seat=any deadline=+30s)
              v5 @hosts+carol candidates-carol
              v5 @carol host_invitation_received host=owner request=2 seat=any extra=-
            > bob accept-invitation owner
              ok
              v6 @hosts+bob invitees-bob<-owner
              v6 @room seats(2)=[0:owner 1:bob]
              v6 @owner host_invitation_responded accepted=true guest=bob
            > carol accept-invitation owner
              error: all seats are occupied
            > view carol
              view v6 connected=[0:owner 1:bob] applicants=[] invitees=[carol<-owner] candidates=[]
                   seats(2)=[0:owner 1:bob] mode=ApplyToTake
            > bob disconnect
              ok
              v7 @room seats(2)=[0:owner]
              v7 @hosts+bob candidates+bob
            > carol accept-invitation owner
              ok
              v8 @hosts+carol invitees-carol<-owner
              v8 @room seats(2)=[0:owner 1:carol]
              v8 @owner host_invitation_responded accepted=true guest=carol
        "#]],
    );
}
