//! The application queue: applicants learn their place and the queue's length as others
//! apply, cancel, time out, leave or are accepted; hosts may take the first in line.
mod sim;
use expect_test::expect;
use sim::check;

#[test]
fn places_follow_arrival_and_close_up_on_cancel() {
    check(
        "
        join owner owner
        join ann audience
        join bob audience
        join cat audience
        cat apply any 30
        ann apply any 30
        bob apply any 30
        view owner
        view bob
        ann cancel-application
        view bob
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(9)=[0:owner]
            > join ann audience
              ok
              v2 @hosts+ann candidates+ann
            > join bob audience
              ok
              v3 @hosts+bob candidates+bob
            > join cat audience
              ok
              v4 @hosts+cat candidates+cat
            > cat apply any 30
              ok request=1
              v5 @hosts+cat applicants+cat (request=1 seat=any deadline=+30s)
              v5 @hosts+cat candidates-cat
              v5 @cat queue 1/1
              v5 @hosts-but-cat guest_application_received guest=cat request=1 seat=any extra=-
            > ann apply any 30
              ok request=2
              v6 @hosts+ann applicants+ann (request=2 seat=any deadline=+30s)
              v6 @hosts+ann candidates-ann
              v6 @cat queue 1/2
              v6 @ann queue 2/2
              v6 @hosts-but-ann guest_application_received guest=ann request=2 seat=any extra=-
            > bob apply any 30
              ok request=3
              v7 @hosts+bob applicants+bob (request=3 seat=any deadline=+30s)
              v7 @hosts+bob candidates-bob
              v7 @cat queue 1/3
              v7 @ann queue 2/3
              v7 @bob queue 3/3
              v7 @hosts-but-bob guest_application_received guest=bob request=3 seat=any extra=-
            > view owner
              view v7 connected=[0:owner] applicants=[cat ann bob] invitees=[] candidates=[]
                   seats(9)=[0:owner] mode=ApplyToTake
            > view bob
              view v7 connected=[0:owner] applicants=[bob] invitees=[] candidates=[]
                   seats(9)=[0:owner] mode=ApplyToTake queue=3/3
            > ann cancel-application
              ok
              v8 @hosts+ann applicants-ann
              v8 @hosts+ann candidates+ann
              v8 @ann queue -
              v8 @cat queue 1/2
              v8 @bob queue 2/2
              v8 @hosts-but-ann guest_application_cancelled guest=ann
            > view bob
              view v8 connected=[0:owner] applicants=[bob] invitees=[] candidates=[]
                   seats(9)=[0:owner] mode=ApplyToTake queue=2/2
        "#]],
    );
}

#[test]
fn a_timeout_or_a_leave_moves_the_others_up() {
    check(
        "
        join owner owner
        join ann audience
        join bob audience
        join cat audience
        ann apply any 10
        bob apply any 60
        cat apply any 60
        advance 10
        leave bob
        view cat
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(9)=[0:owner]
            > join ann audience
              ok
              v2 @hosts+ann candidates+ann
            > join bob audience
              ok
              v3 @hosts+bob candidates+bob
            > join cat audience
              ok
              v4 @hosts+cat candidates+cat
            > ann apply any 10
              ok request=1
              v5 @hosts+ann applicants+ann (request=1 seat=any deadline=+10s)
              v5 @hosts+ann candidates-ann
              v5 @ann queue 1/1
              v5 @hosts-but-ann guest_application_received guest=ann request=1 seat=any extra=-
            > bob apply any 60
              ok request=2
              v6 @hosts+bob applicants+bob (request=2 seat=any deadline=+60s)
              v6 @hosts+bob candidates-bob
              v6 @ann queue 1/2
              v6 @bob queue 2/2
              v6 @hosts-but-bob guest_application_received guest=bob request=2 seat=any extra=-
            > cat apply any 60
              ok request=3
              v7 @hosts+cat applicants+cat (request=3 seat=any deadline=+60s)
              v7 @hosts+cat candidates-cat
              v7 @ann queue 1/3
              v7 @bob queue 2/3
              v7 @cat queue 3/3
              v7 @hosts-but-cat guest_application_received guest=cat request=3 seat=any extra=-
            > advance 10
              v8 @hosts+ann applicants-ann
              v8 @hosts+ann candidates+ann
              v8 @ann queue -
              v8 @bob queue 1/2
              v8 @cat queue 2/2
              v8 @ann guest_application_no_response reason=Timeout
            > leave bob
              ok
              v9 @hosts+bob applicants-bob
              v9 @cat queue 1/1
              v9 @hosts-but-bob guest_application_cancelled guest=bob
            > view cat
              view v9 connected=[0:owner] applicants=[cat] invitees=[] candidates=[]
                   seats(9)=[0:owner] mode=ApplyToTake queue=1/1
        "#]],
    );
}

#[test]
fn accept_next_takes_the_first_in_line() {
    check(
        "
        join owner owner
        join admin admin
        join ann audience
        join bob audience
        ann accept-next-application
        owner accept-next-application
        bob apply any 30
        ann apply any 30
        ann accept-next-application
        admin accept-next-application
        view owner
        owner accept-application ann
        owner accept-next-application
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(9)=[0:owner]
            > join admin admin
              ok
              v2 @hosts+admin candidates+admin
            > join ann audience
              ok
              v3 @hosts+ann candidates+ann
            > join bob audience
              ok
              v4 @hosts+bob candidates+bob
            > ann accept-next-application
              error: only the owner or an admin may do this
            > owner accept-next-application
              error: the application queue is empty
            > bob apply any 30
              ok request=1
              v5 @hosts+bob applicants+bob (request=1 seat=any deadline=+30s)
              v5 @hosts+bob candidates-bob
              v5 @bob queue 1/1
              v5 @hosts-but-bob guest_application_received guest=bob request=1 seat=any extra=-
            > ann apply any 30
              ok request=2
              v6 @hosts+ann applicants+ann (request=2 seat=any deadline=+30s)
              v6 @hosts+ann candidates-ann
              v6 @bob queue 1/2
              v6 @ann queue 2/2
              v6 @hosts-but-ann guest_application_received guest=ann request=2 seat=any extra=-
            > ann accept-next-application
              error: only the owner or an admin may do this
            > admin accept-next-application
              ok
              v7 @hosts+bob applicants-bob
              v7 @room seats(9)=[0:owner 1:bob]
              v7 @bob queue -
              v7 @ann queue 1/1
              v7 @bob guest_application_responded accepted=true host=admin
              v7 @hosts-but-admin guest_application_processed_by_other_host guest=bob host=admin
            > view owner
              view v7 connected=[0:owner 1:bob] applicants=[ann] invitees=[] candidates=[admin]
                   seats(9)=[0:owner 1:bob] mode=ApplyToTake
            > owner accept-application ann
              ok
              v8 @hosts+ann applicants-ann
              v8 @room seats(9)=[0:owner 1:bob 2:ann]
              v8 @ann queue -
              v8 @ann guest_application_responded accepted=true host=owner
              v8 @hosts-but-owner guest_application_processed_by_other_host guest=ann host=owner
            > owner accept-next-application
              error: the application queue is empty
        "#]],
    );
}

#[test]
fn accept_next_refused_for_the_seat_keeps_the_queue() {
    check(
        "
        config seats=3
        join owner owner
        join ann audience
        join bob audience
        ann apply 1 30
        bob apply any 30
        owner lock 1
        owner accept-next-application
        view ann
        owner accept-application bob
        view ann
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(3)=[0:owner]
            > join ann audience
              ok
              v2 @hosts+ann candidates+ann
            > join bob audience
              ok
              v3 @hosts+bob candidates+bob
            > ann apply 1 30
              ok request=1
              v4 @hosts+ann applicants+ann (request=1 seat=1 deadline=+30s)
              v4 @hosts+ann candidates-ann
              v4 @ann queue 1/1
              v4 @hosts-but-ann guest_application_received guest=ann request=1 seat=1 extra=-
            > bob apply any 30
              ok request=2
              v5 @hosts+bob applicants+bob (request=2 seat=any deadline=+30s)
              v5 @hosts+bob candidates-bob
              v5 @ann queue 1/2
              v5 @bob queue 2/2
              v5 @hosts-but-bob guest_application_received guest=bob request=2 seat=any extra=-
            > owner lock 1
              ok
              v6 @room seats(3)=[0:owner 1:-{locked}]
            > owner accept-next-application
              error: seat 1 is locked
            > view ann
              view v6 connected=[0:owner] applicants=[ann] invitees=[] candidates=[]
                   seats(3)=[0:owner 1:-{locked}] mode=ApplyToTake queue=1/2
            > owner accept-application bob
              ok
              v7 @hosts+bob applicants-bob
              v7 @room seats(3)=[0:owner 1:-{locked} 2:bob]
              v7 @bob queue -
              v7 @ann queue 1/1
              v7 @bob guest_application_responded accepted=true host=owner
              v7 @hosts-but-owner guest_application_processed_by_other_host guest=bob host=owner
            > view ann
              view v7 connected=[0:owner 2:bob] applicants=[ann] invitees=[] candidates=[]
                   seats(3)=[0:owner 1:-{locked} 2:bob] mode=ApplyToTake queue=1/1
        "#]],
    );
}
