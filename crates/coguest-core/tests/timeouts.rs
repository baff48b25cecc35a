//! Requests time out on the virtual clock, in deadline order, exactly once.
mod sim;
use expect_test::expect;
use sim::check;

#[test]
fn application_times_out() {
    check(
        "
        join owner owner
        join bob audience
        bob apply any 10
        advance 9
        view owner
        advance 1
        view owner
        advance 100
        owner accept-application bob
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(9)=[0:owner]
            > join bob audience
              ok
              v2 @hosts+bob candidates+bob
            > bob apply any 10
              ok request=1
              v3 @hosts+bob applicants+bob (request=1 seat=any deadline=+10s)
              v3 @hosts+bob candidates-bob
              v3 @bob queue 1/1
              v3 @hosts-but-bob guest_application_received guest=bob request=1 seat=any extra=-
            > advance 9
            > view owner
              view v3 connected=[0:owner] applicants=[bob] invitees=[] candidates=[]
                   seats(9)=[0:owner] mode=ApplyToTake
            > advance 1
              v4 @hosts+bob applicants-bob
              v4 @hosts+bob candidates+bob
              v4 @bob queue -
              v4 @bob guest_application_no_response reason=Timeout
            > view owner
              view v4 connected=[0:owner] applicants=[] invitees=[] candidates=[bob]
                   seats(9)=[0:owner] mode=ApplyToTake
            > advance 100
            > owner accept-application bob
              error: no pending application from bob (it may have been processed already)
        "#]],
    );
}

#[test]
fn invitation_times_out() {
    check(
        "
        join owner owner
        join bob audience
        owner invite bob any 5
        advance 5
        view bob
        bob accept-invitation owner
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(9)=[0:owner]
            > join bob audience
              ok
              v2 @hosts+bob candidates+bob
            > owner invite bob any 5
              ok request=1
              v3 @hosts+bob invitees+bob<-owner (request=1 seat=any deadline=+5s)
              v3 @hosts+bob candidates-bob
              v3 @bob host_invitation_received host=owner request=1 seat=any extra=-
            > advance 5
              v4 @hosts+bob invitees-bob<-owner
              v4 @hosts+bob candidates+bob
              v4 @owner host_invitation_no_response guest=bob reason=Timeout
            > view bob
              view v4 connected=[0:owner] applicants=[] invitees=[] candidates=[bob]
                   seats(9)=[0:owner] mode=ApplyToTake
            > bob accept-invitation owner
              error: no pending invitation from owner to bob (it may have been processed already)
        "#]],
    );
}

#[test]
fn deadlines_fire_in_order_and_a_late_command_sees_them_expired() {
    check(
        "
        join owner owner
        join admin admin
        join bob audience
        join carol audience
        carol apply any 20
        owner invite bob any 10
        admin invite bob any 15
        advance 12
        advance 100
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
            > join carol audience
              ok
              v4 @hosts+carol candidates+carol
            > carol apply any 20
              ok request=1
              v5 @hosts+carol applicants+carol (request=1 seat=any deadline=+20s)
              v5 @hosts+carol candidates-carol
              v5 @carol queue 1/1
              v5 @hosts-but-carol guest_application_received guest=carol request=1 seat=any extra=-
            > owner invite bob any 10
              ok request=2
              v6 @hosts+bob invitees+bob<-owner (request=2 seat=any deadline=+10s)
              v6 @hosts+bob candidates-bob
              v6 @bob host_invitation_received host=owner request=2 seat=any extra=-
            > admin invite bob any 15
              ok request=3
              v7 @hosts+bob invitees+bob<-admin (request=3 seat=any deadline=+15s)
              v7 @bob host_invitation_received host=admin request=3 seat=any extra=-
            > advance 12
              v8 @hosts+bob invitees-bob<-owner
              v8 @owner host_invitation_no_response guest=bob reason=Timeout
            > advance 100
              v9 @hosts+bob invitees-bob<-admin
              v9 @hosts+bob candidates+bob
              v9 @admin host_invitation_no_response guest=bob reason=Timeout
              v10 @hosts+carol applicants-carol
              v10 @hosts+carol candidates+carol
              v10 @carol queue -
              v10 @carol guest_application_no_response reason=Timeout
        "#]],
    );
}

#[test]
fn timeout_bounds_are_enforced() {
    check(
        "
        config max_timeout=60
        join owner owner
        join bob audience
        bob apply any 0
        bob apply any 61
        owner invite bob any 0
        bob apply any 60
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(9)=[0:owner]
            > join bob audience
              ok
              v2 @hosts+bob candidates+bob
            > bob apply any 0
              error: timeout 0s is outside 1..=60s
            > bob apply any 61
              error: timeout 61s is outside 1..=60s
            > owner invite bob any 0
              error: timeout 0s is outside 1..=60s
            > bob apply any 60
              ok request=1
              v3 @hosts+bob applicants+bob (request=1 seat=any deadline=+60s)
              v3 @hosts+bob candidates-bob
              v3 @bob queue 1/1
              v3 @hosts-but-bob guest_application_received guest=bob request=1 seat=any extra=-
        "#]],
    );
}

#[test]
fn late_command_after_deadline_finds_request_expired() {
    // `wait` moves the clock without firing timers: the command arrives after the deadline
    // and must not win against it.
    check(
        "
        join owner owner
        join bob audience
        bob apply any 5
        wait 6
        owner accept-application bob
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(9)=[0:owner]
            > join bob audience
              ok
              v2 @hosts+bob candidates+bob
            > bob apply any 5
              ok request=1
              v3 @hosts+bob applicants+bob (request=1 seat=any deadline=+5s)
              v3 @hosts+bob candidates-bob
              v3 @bob queue 1/1
              v3 @hosts-but-bob guest_application_received guest=bob request=1 seat=any extra=-
            > wait 6
            > owner accept-application bob
              error: no pending application from bob (it may have been processed already)
              v4 @hosts+bob applicants-bob
              v4 @hosts+bob candidates+bob
              v4 @bob queue -
              v4 @bob guest_application_no_response reason=Timeout
        "#]],
    );
}
