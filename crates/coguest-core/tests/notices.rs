//! Backend notices (the webhook transitions): one per transition, with the acting user.
mod sim;
use expect_test::expect;
use sim::check;

#[test]
fn every_transition_has_a_notice() {
    check(
        "
        config seats=4 mode=free notices=true
        join owner owner
        join admin admin
        join bob audience
        join carol audience
        bob apply any 30
        bob cancel-application
        bob apply any 30
        owner reject-application bob
        bob apply 1 30
        owner accept-application bob
        admin invite carol 2 30
        carol reject-invitation admin
        admin invite carol 2 30
        owner invite carol any 30
        carol accept-invitation admin
        owner invite carol any 30
        owner move bob 3 swap
        owner move bob 2 swap
        owner lock 3
        owner unlock 3
        owner settings seats=3
        owner grant-admin bob
        owner disallow-seat 1 mic
        owner kick carol
        carol apply any 5
        owner invite carol any 5
        advance 5
        carol take any
        leave carol
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(4)=[0:owner]
              v1 @backend notice member_joined by=owner role=owner user=owner
              v1 @backend notice seated by=owner seat=0 user=owner
            > join admin admin
              ok
              v2 @hosts+admin candidates+admin
              v2 @backend notice member_joined by=admin role=admin user=admin
            > join bob audience
              ok
              v3 @hosts+bob candidates+bob
              v3 @backend notice member_joined by=bob role=audience user=bob
            > join carol audience
              ok
              v4 @hosts+carol candidates+carol
              v4 @backend notice member_joined by=carol role=audience user=carol
            > bob apply any 30
              ok request=1
              v5 @hosts+bob applicants+bob (request=1 seat=any deadline=+30s)
              v5 @hosts+bob candidates-bob
              v5 @bob queue 1/1
              v5 @backend notice application_created by=bob request_id=1 seat=any user=bob
              v5 @hosts-but-bob guest_application_received guest=bob request=1 seat=any extra=-
            > bob cancel-application
              ok
              v6 @hosts+bob applicants-bob
              v6 @hosts+bob candidates+bob
              v6 @bob queue -
              v6 @backend notice application_cancelled by=bob user=bob
              v6 @hosts-but-bob guest_application_cancelled guest=bob
            > bob apply any 30
              ok request=2
              v7 @hosts+bob applicants+bob (request=2 seat=any deadline=+30s)
              v7 @hosts+bob candidates-bob
              v7 @bob queue 1/1
              v7 @backend notice application_created by=bob request_id=2 seat=any user=bob
              v7 @hosts-but-bob guest_application_received guest=bob request=2 seat=any extra=-
            > owner reject-application bob
              ok
              v8 @hosts+bob applicants-bob
              v8 @hosts+bob candidates+bob
              v8 @bob queue -
              v8 @backend notice application_rejected by=owner user=bob
              v8 @bob guest_application_responded accepted=false host=owner
              v8 @hosts-but-owner guest_application_processed_by_other_host guest=bob host=owner
            > bob apply 1 30
              ok request=3
              v9 @hosts+bob applicants+bob (request=3 seat=1 deadline=+30s)
              v9 @hosts+bob candidates-bob
              v9 @bob queue 1/1
              v9 @backend notice application_created by=bob request_id=3 seat={"exact":1} user=bob
              v9 @hosts-but-bob guest_application_received guest=bob request=3 seat=1 extra=-
            > owner accept-application bob
              ok
              v10 @hosts+bob applicants-bob
              v10 @room seats(4)=[0:owner 1:bob]
              v10 @bob queue -
              v10 @backend notice application_accepted by=owner user=bob
              v10 @bob guest_application_responded accepted=true host=owner
              v10 @hosts-but-owner guest_application_processed_by_other_host guest=bob host=owner
              v10 @backend notice seated by=owner seat=1 user=bob
            > admin invite carol 2 30
              ok request=4
              v11 @hosts+carol invitees+carol<-admin (request=4 seat=2 deadline=+30s)
              v11 @hosts+carol candidates-carol
              v11 @backend notice invitation_created by=admin host=admin request_id=4 seat={"exact":2} user=carol
              v11 @carol host_invitation_received host=admin request=4 seat=2 extra=-
            > carol reject-invitation admin
              ok
              v12 @hosts+carol invitees-carol<-admin
              v12 @hosts+carol candidates+carol
              v12 @backend notice invitation_rejected by=carol host=admin user=carol
              v12 @admin host_invitation_responded accepted=false guest=carol
            > admin invite carol 2 30
              ok request=5
              v13 @hosts+carol invitees+carol<-admin (request=5 seat=2 deadline=+30s)
              v13 @hosts+carol candidates-carol
              v13 @backend notice invitation_created by=admin host=admin request_id=5 seat={"exact":2} user=carol
              v13 @carol host_invitation_received host=admin request=5 seat=2 extra=-
            > owner invite carol any 30
              ok request=6
              v14 @hosts+carol invitees+carol<-owner (request=6 seat=any deadline=+30s)
              v14 @backend notice invitation_created by=owner host=owner request_id=6 seat=any user=carol
              v14 @carol host_invitation_received host=owner request=6 seat=any extra=-
            > carol accept-invitation admin
              ok
              v15 @hosts+carol invitees-carol<-admin
              v15 @hosts+carol invitees-carol<-owner
              v15 @room seats(4)=[0:owner 1:bob 2:carol]
              v15 @backend notice invitation_accepted by=carol host=admin user=carol
              v15 @admin host_invitation_responded accepted=true guest=carol
              v15 @backend notice seated by=carol seat=2 user=carol
              v15 @backend notice invitation_closed_already_seated by=carol host=owner user=carol
              v15 @owner host_invitation_no_response guest=carol reason=AlreadySeated
            > owner invite carol any 30
              ok
              v16 @backend notice invitation_closed_already_seated by=owner host=owner user=carol
              v16 @owner host_invitation_no_response guest=carol reason=AlreadySeated
            > owner move bob 3 swap
              ok
              v17 @room seats(4)=[0:owner 2:carol 3:bob]
              v17 @backend notice moved by=owner from=1 to=3 user=bob
              v17 @bob moved_to_seat from=1 to=3 host=owner
            > owner move bob 2 swap
              ok
              v18 @room seats(4)=[0:owner 2:bob 3:carol]
              v18 @backend notice moved by=owner from=3 to=2 user=bob
              v18 @backend notice moved by=owner from=2 to=3 user=carol
              v18 @carol moved_to_seat from=2 to=3 host=owner
              v18 @bob moved_to_seat from=3 to=2 host=owner
            > owner lock 3
              ok
              v19 @room seats(4)=[0:owner 2:bob 3:-{locked}]
              v19 @hosts+carol candidates+carol
              v19 @backend notice left_seat by=owner seat=3 user=carol
              v19 @backend notice kicked by=owner seat=3 user=carol
              v19 @carol kicked_off_seat seat=3 host=owner
              v19 @backend notice seat_locked by=owner seat=3
            > owner unlock 3
              ok
              v20 @room seats(4)=[0:owner 2:bob]
              v20 @backend notice seat_unlocked by=owner seat=3
            > owner settings seats=3
              ok
              v21 @room settings mode=FreeToTake seats=3
              v21 @room seats(3)=[0:owner 2:bob]
              v21 @backend notice settings_changed by=owner max_seat_count=3 seat_mode=free_to_take
            > owner grant-admin bob
              ok
              v22 @room seats(3)=[0:owner 2:bob]
              v22 @bob reset v22 applicants=0 invitees=0 candidates=2
              v22 @backend notice role_changed by=owner role=admin user=bob
              v22 @bob role_changed role=Admin by=owner
            > owner disallow-seat 1 mic
              ok
              v23 @room seats(3)=[0:owner 1:-{seat-no-mic} 2:bob]
              v23 @backend notice device_permission_changed by=owner allowed=false device=microphone seat=1 user=null
            > owner kick carol
              error: carol is not on a seat
            > carol apply any 5
              ok request=7
              v24 @hosts+carol applicants+carol (request=7 seat=any deadline=+5s)
              v24 @hosts+carol candidates-carol
              v24 @carol queue 1/1
              v24 @backend notice application_created by=carol request_id=7 seat=any user=carol
              v24 @hosts-but-carol guest_application_received guest=carol request=7 seat=any extra=-
            > owner invite carol any 5
              ok request=8
              v25 @hosts+carol invitees+carol<-owner (request=8 seat=any deadline=+5s)
              v25 @backend notice invitation_created by=owner host=owner request_id=8 seat=any user=carol
              v25 @carol host_invitation_received host=owner request=8 seat=any extra=-
            > advance 5
              v26 @hosts+carol applicants-carol
              v26 @carol queue -
              v26 @backend notice application_timed_out by=- user=carol
              v26 @carol guest_application_no_response reason=Timeout
              v27 @hosts+carol invitees-carol<-owner
              v27 @hosts+carol candidates+carol
              v27 @backend notice invitation_timed_out by=- host=owner user=carol
              v27 @owner host_invitation_no_response guest=carol reason=Timeout
            > carol take any
              ok
              v28 @room seats(3)=[0:owner 1:carol{seat-no-mic} 2:bob]
              v28 @hosts+carol candidates-carol
              v28 @backend notice seated by=carol seat=1 user=carol
            > leave carol
              ok
              v29 @room seats(3)=[0:owner 1:-{seat-no-mic} 2:bob]
              v29 @backend notice left_seat by=carol seat=1 user=carol
              v29 @backend notice member_left by=carol user=carol
        "#]],
    );
}
