//! An audience member applies; a host accepts or rejects; the applicant cancels.
mod sim;
use expect_test::expect;
use sim::check;

#[test]
fn apply_then_accept_seats_the_applicant() {
    check(
        "
        join owner owner
        join bob audience
        bob apply any 30 hello
        view owner
        view bob
        owner accept-application bob
        view bob
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(9)=[0:owner]
            > join bob audience
              ok
              v2 @hosts+bob candidates+bob
            > bob apply any 30 hello
              ok request=1
              v3 @hosts+bob applicants+bob (request=1 seat=any deadline=+30s)
              v3 @hosts+bob candidates-bob
              v3 @bob queue 1/1
              v3 @hosts-but-bob guest_application_received guest=bob request=1 seat=any extra=hello
            > view owner
              view v3 connected=[0:owner] applicants=[bob] invitees=[] candidates=[]
                   seats(9)=[0:owner] mode=ApplyToTake
            > view bob
              view v3 connected=[0:owner] applicants=[bob] invitees=[] candidates=[]
                   seats(9)=[0:owner] mode=ApplyToTake queue=1/1
            > owner accept-application bob
              ok
              v4 @hosts+bob applicants-bob
              v4 @room seats(9)=[0:owner 1:bob]
              v4 @bob queue -
              v4 @bob guest_application_responded accepted=true host=owner
              v4 @hosts-but-owner guest_application_processed_by_other_host guest=bob host=owner
            > view bob
              view v4 connected=[0:owner 1:bob] applicants=[] invitees=[] candidates=[]
                   seats(9)=[0:owner 1:bob] mode=ApplyToTake
        "#]],
    );
}

#[test]
fn apply_for_exact_seat_then_reject() {
    check(
        "
        join owner owner
        join bob audience
        bob apply 3 30
        owner reject-application bob
        view owner
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(9)=[0:owner]
            > join bob audience
              ok
              v2 @hosts+bob candidates+bob
            > bob apply 3 30
              ok request=1
              v3 @hosts+bob applicants+bob (request=1 seat=3 deadline=+30s)
              v3 @hosts+bob candidates-bob
              v3 @bob queue 1/1
              v3 @hosts-but-bob guest_application_received guest=bob request=1 seat=3 extra=-
            > owner reject-application bob
              ok
              v4 @hosts+bob applicants-bob
              v4 @hosts+bob candidates+bob
              v4 @bob queue -
              v4 @bob guest_application_responded accepted=false host=owner
              v4 @hosts-but-owner guest_application_processed_by_other_host guest=bob host=owner
            > view owner
              view v4 connected=[0:owner] applicants=[] invitees=[] candidates=[bob]
                   seats(9)=[0:owner] mode=ApplyToTake
        "#]],
    );
}

#[test]
fn cancel_application_tells_hosts_and_second_cancel_fails() {
    check(
        "
        join owner owner
        join admin admin
        join bob audience
        bob apply any 30
        bob cancel-application
        bob cancel-application
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
            > bob apply any 30
              ok request=1
              v4 @hosts+bob applicants+bob (request=1 seat=any deadline=+30s)
              v4 @hosts+bob candidates-bob
              v4 @bob queue 1/1
              v4 @hosts-but-bob guest_application_received guest=bob request=1 seat=any extra=-
            > bob cancel-application
              ok
              v5 @hosts+bob applicants-bob
              v5 @hosts+bob candidates+bob
              v5 @bob queue -
              v5 @hosts-but-bob guest_application_cancelled guest=bob
            > bob cancel-application
              error: no pending application from bob (it may have been processed already)
            > owner accept-application bob
              error: no pending application from bob (it may have been processed already)
        "#]],
    );
}

#[test]
fn second_application_while_pending_is_refused() {
    check(
        "
        join owner owner
        join bob audience
        bob apply any 30
        bob apply 2 30
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
            > bob apply 2 30
              error: you already have a pending application
        "#]],
    );
}

#[test]
fn accept_fails_on_occupied_seat_and_application_stays_pending() {
    check(
        "
        config seats=3
        join owner owner
        join bob audience
        join carol audience
        bob apply 1 30
        carol apply 1 30
        owner accept-application bob
        owner accept-application carol
        view owner
        bob disconnect
        owner accept-application carol
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
            > bob apply 1 30
              ok request=1
              v4 @hosts+bob applicants+bob (request=1 seat=1 deadline=+30s)
              v4 @hosts+bob candidates-bob
              v4 @bob queue 1/1
              v4 @hosts-but-bob guest_application_received guest=bob request=1 seat=1 extra=-
            > carol apply 1 30
              ok request=2
              v5 @hosts+carol applicants+carol (request=2 seat=1 deadline=+30s)
              v5 @hosts+carol candidates-carol
              v5 @bob queue 1/2
              v5 @carol queue 2/2
              v5 @hosts-but-carol guest_application_received guest=carol request=2 seat=1 extra=-
            > owner accept-application bob
              ok
              v6 @hosts+bob applicants-bob
              v6 @room seats(3)=[0:owner 1:bob]
              v6 @bob queue -
              v6 @carol queue 1/1
              v6 @bob guest_application_responded accepted=true host=owner
              v6 @hosts-but-owner guest_application_processed_by_other_host guest=bob host=owner
            > owner accept-application carol
              error: seat 1 is occupied
            > view owner
              view v6 connected=[0:owner 1:bob] applicants=[carol] invitees=[] candidates=[]
                   seats(3)=[0:owner 1:bob] mode=ApplyToTake
            > bob disconnect
              ok
              v7 @room seats(3)=[0:owner]
              v7 @hosts+bob candidates+bob
            > owner accept-application carol
              ok
              v8 @hosts+carol applicants-carol
              v8 @room seats(3)=[0:owner 1:carol]
              v8 @carol queue -
              v8 @carol guest_application_responded accepted=true host=owner
              v8 @hosts-but-owner guest_application_processed_by_other_host guest=carol host=owner
        "#]],
    );
}

#[test]
fn accept_fails_when_all_seats_are_taken() {
    check(
        "
        config seats=2
        join owner owner
        join bob audience
        join carol audience
        bob apply any 30
        carol apply any 30
        owner accept-application bob
        owner accept-application carol
        view carol
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
            > bob apply any 30
              ok request=1
              v4 @hosts+bob applicants+bob (request=1 seat=any deadline=+30s)
              v4 @hosts+bob candidates-bob
              v4 @bob queue 1/1
              v4 @hosts-but-bob guest_application_received guest=bob request=1 seat=any extra=-
            > carol apply any 30
              ok request=2
              v5 @hosts+carol applicants+carol (request=2 seat=any deadline=+30s)
              v5 @hosts+carol candidates-carol
              v5 @bob queue 1/2
              v5 @carol queue 2/2
              v5 @hosts-but-carol guest_application_received guest=carol request=2 seat=any extra=-
            > owner accept-application bob
              ok
              v6 @hosts+bob applicants-bob
              v6 @room seats(2)=[0:owner 1:bob]
              v6 @bob queue -
              v6 @carol queue 1/1
              v6 @bob guest_application_responded accepted=true host=owner
              v6 @hosts-but-owner guest_application_processed_by_other_host guest=bob host=owner
            > owner accept-application carol
              error: all seats are occupied
            > view carol
              view v6 connected=[0:owner 1:bob] applicants=[carol] invitees=[] candidates=[]
                   seats(2)=[0:owner 1:bob] mode=ApplyToTake queue=1/1
        "#]],
    );
}
