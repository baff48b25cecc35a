//! Several hosts: the first answer wins, the others are told, a late answer is refused.
mod sim;
use expect_test::expect;
use sim::check;

#[test]
fn second_host_is_told_and_late_answer_is_refused() {
    check(
        "
        join owner owner
        join admin1 admin
        join admin2 admin
        join bob audience
        bob apply any 30
        admin1 accept-application bob
        admin2 reject-application bob
        owner accept-application bob
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(9)=[0:owner]
            > join admin1 admin
              ok
              v2 @hosts+admin1 candidates+admin1
            > join admin2 admin
              ok
              v3 @hosts+admin2 candidates+admin2
            > join bob audience
              ok
              v4 @hosts+bob candidates+bob
            > bob apply any 30
              ok request=1
              v5 @hosts+bob applicants+bob (request=1 seat=any deadline=+30s)
              v5 @hosts+bob candidates-bob
              v5 @bob queue 1/1
              v5 @hosts-but-bob guest_application_received guest=bob request=1 seat=any extra=-
            > admin1 accept-application bob
              ok
              v6 @hosts+bob applicants-bob
              v6 @room seats(9)=[0:owner 1:bob]
              v6 @bob queue -
              v6 @bob guest_application_responded accepted=true host=admin1
              v6 @hosts-but-admin1 guest_application_processed_by_other_host guest=bob host=admin1
            > admin2 reject-application bob
              error: no pending application from bob (it may have been processed already)
            > owner accept-application bob
              error: no pending application from bob (it may have been processed already)
        "#]],
    );
}

#[test]
fn reject_also_tells_other_hosts() {
    check(
        "
        join owner owner
        join admin1 admin
        join bob audience
        bob apply any 30
        owner reject-application bob
        admin1 accept-application bob
        ",
        expect![[r#"
            > join owner owner
              ok
              v1 @room seats(9)=[0:owner]
            > join admin1 admin
              ok
              v2 @hosts+admin1 candidates+admin1
            > join bob audience
              ok
              v3 @hosts+bob candidates+bob
            > bob apply any 30
              ok request=1
              v4 @hosts+bob applicants+bob (request=1 seat=any deadline=+30s)
              v4 @hosts+bob candidates-bob
              v4 @bob queue 1/1
              v4 @hosts-but-bob guest_application_received guest=bob request=1 seat=any extra=-
            > owner reject-application bob
              ok
              v5 @hosts+bob applicants-bob
              v5 @hosts+bob candidates+bob
              v5 @bob queue -
              v5 @bob guest_application_responded accepted=false host=owner
              v5 @hosts-but-owner guest_application_processed_by_other_host guest=bob host=owner
            > admin1 accept-application bob
              error: no pending application from bob (it may have been processed already)
        "#]],
    );
}
