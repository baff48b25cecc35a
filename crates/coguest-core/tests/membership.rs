//! Joining and leaving: the owner's seat, leaving closes requests, room limits.
mod sim;
use expect_test::expect;
use sim::check;

#[test]
fn owner_takes_seat_zero_and_keeps_it() {
    check(
        "
        join bob audience
        join owner owner
        owner disconnect
        join other owner
        bob apply 0 30
        owner kick owner
        ",
        expect![[r#"
            > join bob audience
              ok
              v1 @hosts+bob candidates+bob
            > join owner owner
              ok
              v2 @room seats(9)=[0:owner]
            > owner disconnect
              error: the owner stays on seat 0 in this room (keep_owner_on_seat)
            > join other owner
              error: the room already has an owner present (owner)
            > bob apply 0 30
              error: seat 0 is reserved for the owner (keep_owner_on_seat)
            > owner kick owner
              error: the owner cannot be removed from seat 0 (keep_owner_on_seat)
        "#]],
    );
}

#[test]
fn without_keep_owner_the_owner_starts_in_the_audience() {
    check(
        "
        config keep_owner=false seats=2
        join owner owner
        join bob audience
        bob apply 0 30
        owner accept-application bob
        owner invite bob any 30
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @hosts+owner candidates+owner
            > join bob audience
              ok
              v2 @hosts+bob candidates+bob
            > bob apply 0 30
              ok request=1
              v3 @hosts+bob applicants+bob (request=1 seat=0 deadline=+30s)
              v3 @hosts+bob candidates-bob
              v3 @bob queue 1/1
              v3 @hosts-but-bob guest_application_received guest=bob request=1 seat=0 extra=-
            > owner accept-application bob
              ok
              v4 @hosts+bob applicants-bob
              v4 @room seats(2)=[0:bob]
              v4 @bob queue -
              v4 @bob guest_application_responded accepted=true host=owner
              v4 @hosts-but-owner guest_application_processed_by_other_host guest=bob host=owner
            > owner invite bob any 30
              ok
              v5 @owner host_invitation_no_response guest=bob reason=AlreadySeated
        "#]],
    );
}

#[test]
fn leaving_closes_every_request_with_events_to_the_other_side() {
    check(
        "
        join owner owner
        join admin admin
        join bob audience
        join carol audience
        bob apply any 30
        owner invite bob any 30
        admin invite carol any 30
        leave bob
        leave admin
        view owner
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
            > bob apply any 30
              ok request=1
              v5 @hosts+bob applicants+bob (request=1 seat=any deadline=+30s)
              v5 @hosts+bob candidates-bob
              v5 @bob queue 1/1
              v5 @hosts-but-bob guest_application_received guest=bob request=1 seat=any extra=-
            > owner invite bob any 30
              ok request=2
              v6 @hosts+bob invitees+bob<-owner (request=2 seat=any deadline=+30s)
              v6 @bob host_invitation_received host=owner request=2 seat=any extra=-
            > admin invite carol any 30
              ok request=3
              v7 @hosts+carol invitees+carol<-admin (request=3 seat=any deadline=+30s)
              v7 @hosts+carol candidates-carol
              v7 @carol host_invitation_received host=admin request=3 seat=any extra=-
            > leave bob
              ok
              v8 @hosts+bob applicants-bob
              v8 @hosts+bob invitees-bob<-owner
              v8 @hosts-but-bob guest_application_cancelled guest=bob
              v8 @owner host_invitation_responded accepted=false guest=bob
            > leave admin
              ok
              v9 @hosts+carol invitees-carol<-admin
              v9 @hosts+admin candidates-admin
              v9 @hosts+carol candidates+carol
              v9 @carol host_invitation_cancelled host=admin
            > view owner
              view v9 connected=[0:owner] applicants=[] invitees=[] candidates=[carol]
                   seats(9)=[0:owner] mode=ApplyToTake
        "#]],
    );
}

#[test]
fn leaving_a_seat_by_leaving_the_room() {
    check(
        "
        join owner owner
        join bob audience
        owner invite bob any 30
        bob accept-invitation owner
        leave bob
        leave bob
        bob apply any 30
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(9)=[0:owner]
            > join bob audience
              ok
              v2 @hosts+bob candidates+bob
            > owner invite bob any 30
              ok request=1
              v3 @hosts+bob invitees+bob<-owner (request=1 seat=any deadline=+30s)
              v3 @hosts+bob candidates-bob
              v3 @bob host_invitation_received host=owner request=1 seat=any extra=-
            > bob accept-invitation owner
              ok
              v4 @hosts+bob invitees-bob<-owner
              v4 @room seats(9)=[0:owner 1:bob]
              v4 @owner host_invitation_responded accepted=true guest=bob
            > leave bob
              ok
              v5 @room seats(9)=[0:owner]
            > leave bob
              error: you are not a member of this room
            > bob apply any 30
              error: you are not a member of this room
        "#]],
    );
}

#[test]
fn room_member_limit_and_repeated_join() {
    check(
        "
        config members=2
        join owner owner
        join bob audience
        join bob audience
        join carol audience
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(9)=[0:owner]
            > join bob audience
              ok
              v2 @hosts+bob candidates+bob
            > join bob audience
              ok
            > join carol audience
              error: the room is full (2 members)
        "#]],
    );
}

#[test]
fn disconnect_requires_a_seat() {
    check(
        "
        join owner owner
        join bob audience
        bob disconnect
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(9)=[0:owner]
            > join bob audience
              ok
              v2 @hosts+bob candidates+bob
            > bob disconnect
              error: bob is not on a seat
        "#]],
    );
}
