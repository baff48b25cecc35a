//! Seat rules: indices, locks, kicks.
mod sim;
use expect_test::expect;
use sim::check;

#[test]
fn seat_index_must_exist_and_owner_seat_is_reserved() {
    check(
        "
        config seats=4
        join owner owner
        join bob audience
        bob apply 4 30
        bob apply 0 30
        owner invite bob 9 30
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(4)=[0:owner]
            > join bob audience
              ok
              v2 @hosts+bob candidates+bob
            > bob apply 4 30
              error: seat 4 does not exist
            > bob apply 0 30
              error: seat 0 is reserved for the owner (keep_owner_on_seat)
            > owner invite bob 9 30
              error: seat 9 does not exist
        "#]],
    );
}

#[test]
fn locked_seats_cannot_be_requested_or_assigned() {
    check(
        "
        config seats=3
        join owner owner
        join bob audience
        join carol audience
        bob apply 1 30
        owner lock 1
        owner lock 1
        owner accept-application bob
        carol apply 1 30
        carol apply any 30
        owner lock 2
        owner accept-application carol
        owner unlock 2
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
            > owner lock 1
              ok
              v5 @room seats(3)=[0:owner 1:-{locked}]
            > owner lock 1
              error: seat 1 is already locked
            > owner accept-application bob
              error: seat 1 is locked
            > carol apply 1 30
              error: seat 1 is locked
            > carol apply any 30
              ok request=2
              v6 @hosts+carol applicants+carol (request=2 seat=any deadline=+30s)
              v6 @hosts+carol candidates-carol
              v6 @bob queue 1/2
              v6 @carol queue 2/2
              v6 @hosts-but-carol guest_application_received guest=carol request=2 seat=any extra=-
            > owner lock 2
              ok
              v7 @room seats(3)=[0:owner 1:-{locked} 2:-{locked}]
            > owner accept-application carol
              error: all seats are occupied
            > owner unlock 2
              ok
              v8 @room seats(3)=[0:owner 1:-{locked}]
            > owner accept-application carol
              ok
              v9 @hosts+carol applicants-carol
              v9 @room seats(3)=[0:owner 1:-{locked} 2:carol]
              v9 @carol queue -
              v9 @bob queue 1/1
              v9 @carol guest_application_responded accepted=true host=owner
              v9 @hosts-but-owner guest_application_processed_by_other_host guest=carol host=owner
        "#]],
    );
}

#[test]
fn locking_an_occupied_seat_removes_its_occupant() {
    check(
        "
        join owner owner
        join bob audience
        owner invite bob 3 30
        bob accept-invitation owner
        owner lock 3
        owner lock 0
        view bob
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(9)=[0:owner]
            > join bob audience
              ok
              v2 @hosts+bob candidates+bob
            > owner invite bob 3 30
              ok request=1
              v3 @hosts+bob invitees+bob<-owner (request=1 seat=3 deadline=+30s)
              v3 @hosts+bob candidates-bob
              v3 @bob host_invitation_received host=owner request=1 seat=3 extra=-
            > bob accept-invitation owner
              ok
              v4 @hosts+bob invitees-bob<-owner
              v4 @room seats(9)=[0:owner 3:bob]
              v4 @owner host_invitation_responded accepted=true guest=bob
            > owner lock 3
              ok
              v5 @room seats(9)=[0:owner 3:-{locked}]
              v5 @hosts+bob candidates+bob
              v5 @bob kicked_off_seat seat=3 host=owner
            > owner lock 0
              error: seat 0 is reserved for the owner (keep_owner_on_seat)
            > view bob
              view v5 connected=[0:owner] applicants=[] invitees=[] candidates=[bob]
                   seats(9)=[0:owner 3:-{locked}] mode=ApplyToTake
        "#]],
    );
}

#[test]
fn kick_off_seat() {
    check(
        "
        join owner owner
        join bob audience
        join carol audience
        bob apply any 30
        owner accept-application bob
        carol kick bob
        owner kick carol
        owner kick bob
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
            > owner accept-application bob
              ok
              v5 @hosts+bob applicants-bob
              v5 @room seats(9)=[0:owner 1:bob]
              v5 @bob queue -
              v5 @bob guest_application_responded accepted=true host=owner
              v5 @hosts-but-owner guest_application_processed_by_other_host guest=bob host=owner
            > carol kick bob
              error: only the owner or an admin may do this
            > owner kick carol
              error: carol is not on a seat
            > owner kick bob
              ok
              v6 @room seats(9)=[0:owner]
              v6 @hosts+bob candidates+bob
              v6 @bob kicked_off_seat seat=1 host=owner
        "#]],
    );
}
