//! Seat management: take and leave, moves with every policy, devices and their permissions,
//! run-time settings, admin grants.
mod sim;
use expect_test::expect;
use sim::check;

#[test]
fn take_seat_only_in_free_to_take_rooms() {
    check(
        "
        config seats=3
        join owner owner
        join bob audience
        join carol audience
        bob take 1
        owner settings mode=free
        bob apply 2 30
        bob take 1
        bob take 2
        carol take 1
        carol take any
        owner lock 2
        bob leave-seat
        bob leave-seat
        owner leave-seat
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
            > bob take 1
              error: this room is apply-to-take: apply for a seat instead
            > owner settings mode=free
              ok
              v4 @room settings mode=FreeToTake seats=3
              v4 @room seats(3)=[0:owner]
            > bob apply 2 30
              ok request=1
              v5 @hosts+bob applicants+bob (request=1 seat=2 deadline=+30s)
              v5 @hosts+bob candidates-bob
              v5 @bob queue 1/1
              v5 @hosts-but-bob guest_application_received guest=bob request=1 seat=2 extra=-
            > bob take 1
              ok
              v6 @hosts+bob applicants-bob
              v6 @room seats(3)=[0:owner 1:bob]
              v6 @bob queue -
              v6 @bob guest_application_no_response reason=AlreadySeated
            > bob take 2
              error: you are already on seat 1
            > carol take 1
              error: seat 1 is occupied
            > carol take any
              ok
              v7 @room seats(3)=[0:owner 1:bob 2:carol]
              v7 @hosts+carol candidates-carol
            > owner lock 2
              ok
              v8 @room seats(3)=[0:owner 1:bob 2:-{locked}]
              v8 @hosts+carol candidates+carol
              v8 @carol kicked_off_seat seat=2 host=owner
            > bob leave-seat
              ok
              v9 @room seats(3)=[0:owner 2:-{locked}]
              v9 @hosts+bob candidates+bob
            > bob leave-seat
              error: bob is not on a seat
            > owner leave-seat
              error: the owner stays on seat 0 in this room (keep_owner_on_seat)
        "#]],
    );
}

#[test]
fn move_policies() {
    check(
        "
        config seats=5 mode=free
        join owner owner
        join admin admin
        join bob audience
        join carol audience
        bob take 1
        carol take 2
        bob mic on
        carol move bob 3 abort
        bob move bob 2 abort
        bob move bob 2 swap
        bob move bob 3 abort
        owner move bob 2 abort
        owner move bob 2 swap
        admin move carol 2 force
        owner move bob 0 abort
        owner move owner 4 abort
        owner lock 4
        owner move bob 4 abort
        owner move bob 2 abort
        owner move carol 1 abort
        view carol
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(5)=[0:owner]
            > join admin admin
              ok
              v2 @hosts+admin candidates+admin
            > join bob audience
              ok
              v3 @hosts+bob candidates+bob
            > join carol audience
              ok
              v4 @hosts+carol candidates+carol
            > bob take 1
              ok
              v5 @room seats(5)=[0:owner 1:bob]
              v5 @hosts+bob candidates-bob
            > carol take 2
              ok
              v6 @room seats(5)=[0:owner 1:bob 2:carol]
              v6 @hosts+carol candidates-carol
            > bob mic on
              ok
              v7 @room seats(5)=[0:owner 1:bob{mic} 2:carol]
            > carol move bob 3 abort
              error: only the owner or an admin may do this
            > bob move bob 2 abort
              error: seat 2 is occupied
            > bob move bob 2 swap
              error: only the owner or an admin may do this
            > bob move bob 3 abort
              ok
              v8 @room seats(5)=[0:owner 2:carol 3:bob{mic}]
            > owner move bob 2 abort
              error: seat 2 is occupied
            > owner move bob 2 swap
              ok
              v9 @room seats(5)=[0:owner 2:bob{mic} 3:carol]
              v9 @carol moved_to_seat from=2 to=3 host=owner
              v9 @bob moved_to_seat from=3 to=2 host=owner
            > admin move carol 2 force
              ok
              v10 @room seats(5)=[0:owner 2:carol]
              v10 @hosts+bob candidates+bob
              v10 @bob kicked_off_seat seat=2 host=admin
              v10 @carol moved_to_seat from=3 to=2 host=admin
            > owner move bob 0 abort
              error: bob is not on a seat
            > owner move owner 4 abort
              error: the owner stays on seat 0 in this room (keep_owner_on_seat)
            > owner lock 4
              ok
              v11 @room seats(5)=[0:owner 2:carol 4:-{locked}]
            > owner move bob 4 abort
              error: bob is not on a seat
            > owner move bob 2 abort
              error: bob is not on a seat
            > owner move carol 1 abort
              ok
              v12 @room seats(5)=[0:owner 1:carol 4:-{locked}]
              v12 @carol moved_to_seat from=2 to=1 host=owner
            > view carol
              view v12 connected=[0:owner 1:carol] applicants=[] invitees=[] candidates=[]
                   seats(5)=[0:owner 1:carol 4:-{locked}] mode=FreeToTake
        "#]],
    );
}

#[test]
fn first_host_wins_for_concurrent_moves_and_kicks() {
    check(
        "
        config seats=5 mode=free
        join owner owner
        join admin admin
        join bob audience
        join carol audience
        bob take 1
        carol take 2
        # Both hosts act on what they saw: the second command finds the room changed.
        owner move bob 3 abort
        admin move bob 4 abort
        owner kick carol
        admin kick carol
        owner move bob 2 abort
        admin move carol 2 abort
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(5)=[0:owner]
            > join admin admin
              ok
              v2 @hosts+admin candidates+admin
            > join bob audience
              ok
              v3 @hosts+bob candidates+bob
            > join carol audience
              ok
              v4 @hosts+carol candidates+carol
            > bob take 1
              ok
              v5 @room seats(5)=[0:owner 1:bob]
              v5 @hosts+bob candidates-bob
            > carol take 2
              ok
              v6 @room seats(5)=[0:owner 1:bob 2:carol]
              v6 @hosts+carol candidates-carol
            > owner move bob 3 abort
              ok
              v7 @room seats(5)=[0:owner 2:carol 3:bob]
              v7 @bob moved_to_seat from=1 to=3 host=owner
            > admin move bob 4 abort
              ok
              v8 @room seats(5)=[0:owner 2:carol 4:bob]
              v8 @bob moved_to_seat from=3 to=4 host=admin
            > owner kick carol
              ok
              v9 @room seats(5)=[0:owner 4:bob]
              v9 @hosts+carol candidates+carol
              v9 @carol kicked_off_seat seat=2 host=owner
            > admin kick carol
              error: carol is not on a seat
            > owner move bob 2 abort
              ok
              v10 @room seats(5)=[0:owner 2:bob]
              v10 @bob moved_to_seat from=4 to=2 host=owner
            > admin move carol 2 abort
              error: carol is not on a seat
        "#]],
    );
}

#[test]
fn devices_and_permissions() {
    check(
        "
        config seats=4 mode=free
        join owner owner
        join bob audience
        join carol audience
        bob mic on
        bob take 1
        bob mic on
        bob cam on
        bob mic on
        owner disallow-user bob mic
        bob mic on
        owner disallow-seat 1 cam
        bob cam on
        owner move bob 2 abort
        bob cam on
        owner allow-user bob mic
        bob mic on
        carol take 1
        carol cam on
        owner allow-seat 1 cam
        bob leave-seat
        view carol
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(4)=[0:owner]
            > join bob audience
              ok
              v2 @hosts+bob candidates+bob
            > join carol audience
              ok
              v3 @hosts+carol candidates+carol
            > bob mic on
              error: bob is not on a seat
            > bob take 1
              ok
              v4 @room seats(4)=[0:owner 1:bob]
              v4 @hosts+bob candidates-bob
            > bob mic on
              ok
              v5 @room seats(4)=[0:owner 1:bob{mic}]
            > bob cam on
              ok
              v6 @room seats(4)=[0:owner 1:bob{mic,cam}]
            > bob mic on
              ok
            > owner disallow-user bob mic
              ok
              v7 @room seats(4)=[0:owner 1:bob{cam,user-no-mic}]
              v7 @bob device_permission_changed microphone allowed=false seat=- host=owner
            > bob mic on
              error: opening the microphone is disallowed by a host
            > owner disallow-seat 1 cam
              ok
              v8 @room seats(4)=[0:owner 1:bob{seat-no-cam,user-no-mic}]
              v8 @bob device_permission_changed camera allowed=false seat=1 host=owner
            > bob cam on
              error: opening the camera is disallowed by a host
            > owner move bob 2 abort
              ok
              v9 @room seats(4)=[0:owner 1:-{seat-no-cam} 2:bob{user-no-mic}]
              v9 @bob moved_to_seat from=1 to=2 host=owner
            > bob cam on
              ok
              v10 @room seats(4)=[0:owner 1:-{seat-no-cam} 2:bob{cam,user-no-mic}]
            > owner allow-user bob mic
              ok
              v11 @room seats(4)=[0:owner 1:-{seat-no-cam} 2:bob{cam}]
              v11 @bob device_permission_changed microphone allowed=true seat=- host=owner
            > bob mic on
              ok
              v12 @room seats(4)=[0:owner 1:-{seat-no-cam} 2:bob{mic,cam}]
            > carol take 1
              ok
              v13 @room seats(4)=[0:owner 1:carol{seat-no-cam} 2:bob{mic,cam}]
              v13 @hosts+carol candidates-carol
            > carol cam on
              error: opening the camera is disallowed by a host
            > owner allow-seat 1 cam
              ok
              v14 @room seats(4)=[0:owner 1:carol 2:bob{mic,cam}]
              v14 @carol device_permission_changed camera allowed=true seat=1 host=owner
            > bob leave-seat
              ok
              v15 @room seats(4)=[0:owner 1:carol]
              v15 @hosts+bob candidates+bob
            > view carol
              view v15 connected=[0:owner 1:carol] applicants=[] invitees=[] candidates=[]
                   seats(4)=[0:owner 1:carol] mode=FreeToTake
        "#]],
    );
}

#[test]
fn settings_change_at_run_time() {
    check(
        "
        config seats=4 mode=free
        join owner owner
        join bob audience
        bob settings seats=2
        bob take 3
        owner settings seats=2
        owner settings seats=0
        owner settings seats=65
        owner kick bob
        owner lock 3
        owner settings seats=2 mode=apply
        owner settings seats=2
        bob take 1
        owner settings seats=6
        view bob
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(4)=[0:owner]
            > join bob audience
              ok
              v2 @hosts+bob candidates+bob
            > bob settings seats=2
              error: only the owner or an admin may do this
            > bob take 3
              ok
              v3 @room seats(4)=[0:owner 3:bob]
              v3 @hosts+bob candidates-bob
            > owner settings seats=2
              error: seat 3 is occupied: empty it before shrinking to 2 seats
            > owner settings seats=0
              error: invalid setting: max_seat_count must be 1..=64
            > owner settings seats=65
              error: invalid setting: max_seat_count must be 1..=64
            > owner kick bob
              ok
              v4 @room seats(4)=[0:owner]
              v4 @hosts+bob candidates+bob
              v4 @bob kicked_off_seat seat=3 host=owner
            > owner lock 3
              ok
              v5 @room seats(4)=[0:owner 3:-{locked}]
            > owner settings seats=2 mode=apply
              ok
              v6 @room settings mode=ApplyToTake seats=2
              v6 @room seats(2)=[0:owner]
            > owner settings seats=2
              ok
            > bob take 1
              error: this room is apply-to-take: apply for a seat instead
            > owner settings seats=6
              ok
              v7 @room settings mode=ApplyToTake seats=6
              v7 @room seats(6)=[0:owner]
            > view bob
              view v7 connected=[0:owner] applicants=[] invitees=[] candidates=[bob]
                   seats(6)=[0:owner] mode=ApplyToTake
        "#]],
    );
}

#[test]
fn owner_grants_and_revokes_admin() {
    check(
        "
        config seats=4
        join owner owner
        join bob audience
        join carol audience
        join dave audience
        bob invite carol any 30
        owner grant-admin bob
        bob invite carol any 30
        bob invite dave 2 30
        bob grant-admin carol
        owner grant-admin owner
        owner revoke-admin bob
        view bob
        bob accept-application carol
        leave bob
        join bob admin
        view bob
        owner grant-admin erin
        join erin audience
        view erin
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(4)=[0:owner]
            > join bob audience
              ok
              v2 @hosts+bob candidates+bob
            > join carol audience
              ok
              v3 @hosts+carol candidates+carol
            > join dave audience
              ok
              v4 @hosts+dave candidates+dave
            > bob invite carol any 30
              error: only the owner or an admin may do this
            > owner grant-admin bob
              ok
              v5 @bob reset v5 applicants=0 invitees=0 candidates=3
              v5 @bob role_changed role=Admin by=owner
            > bob invite carol any 30
              ok request=1
              v6 @hosts+carol invitees+carol<-bob (request=1 seat=any deadline=+30s)
              v6 @hosts+carol candidates-carol
              v6 @carol host_invitation_received host=bob request=1 seat=any extra=-
            > bob invite dave 2 30
              ok request=2
              v7 @hosts+dave invitees+dave<-bob (request=2 seat=2 deadline=+30s)
              v7 @hosts+dave candidates-dave
              v7 @dave host_invitation_received host=bob request=2 seat=2 extra=-
            > bob grant-admin carol
              error: only the owner may do this
            > owner grant-admin owner
              error: the owner's role cannot be changed
            > owner revoke-admin bob
              ok
              v8 @hosts+carol invitees-carol<-bob
              v8 @hosts+dave invitees-dave<-bob
              v8 @hosts+carol candidates+carol
              v8 @hosts+dave candidates+dave
              v8 @bob reset v8 applicants=0 invitees=0 candidates=1
              v8 @carol host_invitation_cancelled host=bob
              v8 @dave host_invitation_cancelled host=bob
              v8 @bob role_changed role=Audience by=owner
            > view bob
              view v8 connected=[0:owner] applicants=[] invitees=[] candidates=[bob]
                   seats(4)=[0:owner] mode=ApplyToTake
            > bob accept-application carol
              error: only the owner or an admin may do this
            > leave bob
              ok
              v9 @hosts+bob candidates-bob
            > join bob admin
              ok
              v10 @hosts+bob candidates+bob
            > view bob
              view v10 connected=[0:owner] applicants=[] invitees=[] candidates=[bob]
                   seats(4)=[0:owner] mode=ApplyToTake
            > owner grant-admin erin
              ok
            > join erin audience
              ok
              v12 @hosts+erin candidates+erin
            > view erin
              view v12 connected=[0:owner] applicants=[] invitees=[] candidates=[carol dave bob erin]
                   seats(4)=[0:owner] mode=ApplyToTake
        "#]],
    );
}

#[test]
fn operator_acts_as_a_host_without_joining() {
    check(
        "
        config seats=3
        join owner owner
        join bob audience
        join @operator admin
        bob apply 2 30
        @operator pick bob 1
        @operator pick bob 2
        @operator lock 2
        @operator move bob 2 abort
        @operator grant-admin bob
        @operator grant-admin @operator
        owner grant-admin @operator
        @operator invite owner any 30
        @operator kick bob
        @operator settings mode=free
        bob apply any 30
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(3)=[0:owner]
            > join bob audience
              ok
              v2 @hosts+bob candidates+bob
            > join @operator admin
              error: user id @operator is reserved for the admin API
            > bob apply 2 30
              ok request=1
              v3 @hosts+bob applicants+bob (request=1 seat=2 deadline=+30s)
              v3 @hosts+bob candidates-bob
              v3 @bob queue 1/1
              v3 @hosts-but-bob guest_application_received guest=bob request=1 seat=2 extra=-
            > @operator pick bob 1
              ok
              v4 @hosts+bob applicants-bob
              v4 @room seats(3)=[0:owner 1:bob]
              v4 @bob queue -
              v4 @bob guest_application_no_response reason=AlreadySeated
            > @operator pick bob 2
              error: you are already on seat 1
            > @operator lock 2
              ok
              v5 @room seats(3)=[0:owner 1:bob 2:-{locked}]
            > @operator move bob 2 abort
              error: seat 2 is locked
            > @operator grant-admin bob
              ok
              v6 @room seats(3)=[0:owner 1:bob 2:-{locked}]
              v6 @bob reset v6 applicants=0 invitees=0 candidates=0
              v6 @bob role_changed role=Admin by=@operator
            > @operator grant-admin @operator
              error: user id @operator is reserved for the admin API
            > owner grant-admin @operator
              error: user id @operator is reserved for the admin API
            > @operator invite owner any 30
              error: you are not a member of this room
            > @operator kick bob
              ok
              v7 @room seats(3)=[0:owner 2:-{locked}]
              v7 @hosts+bob candidates+bob
              v7 @bob kicked_off_seat seat=1 host=@operator
            > @operator settings mode=free
              ok
              v8 @room settings mode=FreeToTake seats=3
              v8 @room seats(3)=[0:owner 2:-{locked}]
            > bob apply any 30
              ok request=2
              v9 @hosts+bob applicants+bob (request=2 seat=any deadline=+30s)
              v9 @hosts+bob candidates-bob
              v9 @bob queue 1/1
              v9 @hosts-but-bob guest_application_received guest=bob request=2 seat=any extra=-
        "#]],
    );
}
