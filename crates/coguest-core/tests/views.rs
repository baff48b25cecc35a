//! What hosts and audience members see, and the candidates cap.
mod sim;
use expect_test::expect;
use sim::check;

#[test]
fn audience_sees_only_entries_about_itself() {
    check(
        "
        join owner owner
        join bob audience
        join carol audience
        bob apply any 30
        owner invite carol any 30
        view owner
        view bob
        view carol
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
            > bob apply any 30
              ok request=1
              v4 @hosts+bob applicants+bob (request=1 seat=any deadline=+30s)
              v4 @hosts+bob candidates-bob
              v4 @bob queue 1/1
              v4 @hosts-but-bob guest_application_received guest=bob request=1 seat=any extra=-
            > owner invite carol any 30
              ok request=2
              v5 @hosts+carol invitees+carol<-owner (request=2 seat=any deadline=+30s)
              v5 @hosts+carol candidates-carol
              v5 @carol host_invitation_received host=owner request=2 seat=any extra=-
            > view owner
              view v5 connected=[0:owner] applicants=[bob] invitees=[carol<-owner] candidates=[]
                   seats(9)=[0:owner] mode=ApplyToTake
            > view bob
              view v5 connected=[0:owner] applicants=[bob] invitees=[] candidates=[]
                   seats(9)=[0:owner] mode=ApplyToTake queue=1/1
            > view carol
              view v5 connected=[0:owner] applicants=[] invitees=[carol<-owner] candidates=[]
                   seats(9)=[0:owner] mode=ApplyToTake
        "#]],
    );
}

#[test]
fn candidates_are_capped_and_refilled_in_joining_order() {
    check(
        "
        config candidates=2
        join owner owner
        join a audience
        join b audience
        join c audience
        view owner
        a apply any 30
        view owner
        a cancel-application
        view owner
        leave b
        view owner
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(9)=[0:owner]
            > join a audience
              ok
              v2 @hosts+a candidates+a
            > join b audience
              ok
              v3 @hosts+b candidates+b
            > join c audience
              ok
            > view owner
              view v4 connected=[0:owner] applicants=[] invitees=[] candidates=[a b]
                   seats(9)=[0:owner] mode=ApplyToTake
            > a apply any 30
              ok request=1
              v5 @hosts+a applicants+a (request=1 seat=any deadline=+30s)
              v5 @hosts+a candidates-a
              v5 @hosts+c candidates+c
              v5 @a queue 1/1
              v5 @hosts-but-a guest_application_received guest=a request=1 seat=any extra=-
            > view owner
              view v5 connected=[0:owner] applicants=[a] invitees=[] candidates=[b c]
                   seats(9)=[0:owner] mode=ApplyToTake
            > a cancel-application
              ok
              v6 @hosts+a applicants-a
              v6 @hosts+c candidates-c
              v6 @hosts+a candidates+a
              v6 @a queue -
              v6 @hosts-but-a guest_application_cancelled guest=a
            > view owner
              view v6 connected=[0:owner] applicants=[] invitees=[] candidates=[a b]
                   seats(9)=[0:owner] mode=ApplyToTake
            > leave b
              ok
              v7 @hosts+b candidates-b
              v7 @hosts+c candidates+c
            > view owner
              view v7 connected=[0:owner] applicants=[] invitees=[] candidates=[a c]
                   seats(9)=[0:owner] mode=ApplyToTake
        "#]],
    );
}

#[test]
fn extra_info_is_bounded() {
    check(
        "
        config extra=5
        join owner owner
        join bob audience
        bob apply any 30 123456
        owner invite bob any 30 123456
        bob apply any 30 12345
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(9)=[0:owner]
            > join bob audience
              ok
              v2 @hosts+bob candidates+bob
            > bob apply any 30 123456
              error: extra_info is 6 bytes, more than the 5 allowed
            > owner invite bob any 30 123456
              error: extra_info is 6 bytes, more than the 5 allowed
            > bob apply any 30 12345
              ok request=1
              v3 @hosts+bob applicants+bob (request=1 seat=any deadline=+30s)
              v3 @hosts+bob candidates-bob
              v3 @bob queue 1/1
              v3 @hosts-but-bob guest_application_received guest=bob request=1 seat=any extra=12345
        "#]],
    );
}

#[test]
fn audience_cannot_use_host_commands() {
    check(
        "
        join owner owner
        join bob audience
        join carol audience
        carol apply any 30
        bob accept-application carol
        bob reject-application carol
        bob invite carol any 30
        bob cancel-invitation carol
        bob kick owner
        bob lock 2
        bob unlock 2
        ghost apply any 30
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
            > carol apply any 30
              ok request=1
              v4 @hosts+carol applicants+carol (request=1 seat=any deadline=+30s)
              v4 @hosts+carol candidates-carol
              v4 @carol queue 1/1
              v4 @hosts-but-carol guest_application_received guest=carol request=1 seat=any extra=-
            > bob accept-application carol
              error: only the owner or an admin may do this
            > bob reject-application carol
              error: only the owner or an admin may do this
            > bob invite carol any 30
              error: only the owner or an admin may do this
            > bob cancel-invitation carol
              error: only the owner or an admin may do this
            > bob kick owner
              error: only the owner or an admin may do this
            > bob lock 2
              error: only the owner or an admin may do this
            > bob unlock 2
              error: only the owner or an admin may do this
            > ghost apply any 30
              error: you are not a member of this room
        "#]],
    );
}
