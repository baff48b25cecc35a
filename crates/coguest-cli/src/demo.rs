//! `coguest demo`: a short co-guest session played through the SDK against an in-process
//! server, printing every callback and the seat list as they happen.
//!
//! The server runs on a temporary data directory (removed afterwards) and a manual clock, so
//! the timeout step does not wait 30 real seconds.

use anyhow::{Context, Result};
use clap::Parser;
use coguest_client::{
    Client, CoGuestStore, GuestListener, HostListener, LiveUserInfo, NoResponseReason,
};
use coguest_core::{Role, Timestamp};
use coguest_server::auth::{Auth, Claims};
use coguest_server::{Clock, ManualClock, Server, ServerConfig, TlsFiles};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `coguest demo` flags: by default the demo runs over plain `ws://`.
#[derive(Parser, Debug)]
pub struct DemoArgs {
    /// Serve the demo's server over TLS with this PEM certificate (valid for `localhost`);
    /// the SDK then connects to wss://localhost. Needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// A PEM (or DER) file of CA certificates the SDK trusts besides the Mozilla roots: the
    /// private CA that issued --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    ca_file: Option<PathBuf>,
}

/// Runs the demo on its own runtime.
pub fn run(args: DemoArgs) -> Result<()> {
    tokio::runtime::Runtime::new()
        .context("starting the runtime")?
        .block_on(play(args))
}

/// Prints the callbacks one member receives.
struct Printer {
    who: &'static str,
}

impl Printer {
    fn say(&self, what: String) {
        println!("    {:<6} <- {what}", self.who);
    }
}

fn reason(r: NoResponseReason) -> &'static str {
    match r {
        NoResponseReason::Timeout => "timeout",
        NoResponseReason::AlreadySeated => "already seated",
    }
}

impl HostListener for Printer {
    fn on_guest_application_received(&self, g: &LiveUserInfo) {
        self.say(format!("on_guest_application_received({})", g.user_name));
    }
    fn on_guest_application_cancelled(&self, g: &LiveUserInfo) {
        self.say(format!("on_guest_application_cancelled({})", g.user_name));
    }
    fn on_guest_application_processed_by_other_host(&self, g: &LiveUserInfo, h: &LiveUserInfo) {
        self.say(format!(
            "on_guest_application_processed_by_other_host({}, by {})",
            g.user_name, h.user_name
        ));
    }
    fn on_host_invitation_responded(&self, is_accept: bool, g: &LiveUserInfo) {
        let answer = if is_accept { "accepted" } else { "rejected" };
        self.say(format!(
            "on_host_invitation_responded({answer}, {})",
            g.user_name
        ));
    }
    fn on_host_invitation_no_response(&self, g: &LiveUserInfo, r: NoResponseReason) {
        self.say(format!(
            "on_host_invitation_no_response({}, {})",
            g.user_name,
            reason(r)
        ));
    }
}

impl GuestListener for Printer {
    fn on_host_invitation_received(&self, h: &LiveUserInfo) {
        self.say(format!("on_host_invitation_received(from {})", h.user_name));
    }
    fn on_host_invitation_cancelled(&self, h: &LiveUserInfo) {
        self.say(format!("on_host_invitation_cancelled(by {})", h.user_name));
    }
    fn on_guest_application_responded(&self, is_accept: bool, h: &LiveUserInfo) {
        let answer = if is_accept { "accepted" } else { "rejected" };
        self.say(format!(
            "on_guest_application_responded({answer}, by {})",
            h.user_name
        ));
    }
    fn on_guest_application_no_response(&self, r: NoResponseReason) {
        self.say(format!("on_guest_application_no_response({})", reason(r)));
    }
    fn on_kicked_off_seat(&self, seat_index: i32, h: &LiveUserInfo) {
        self.say(format!(
            "on_kicked_off_seat(seat {seat_index}, by {})",
            h.user_name
        ));
    }
}

struct Member {
    client: Client,
    store: CoGuestStore,
}

struct Demo {
    members: Vec<Member>,
    last_seats: String,
}

impl Demo {
    /// Waits until every member has received what the server sent so far and its callbacks
    /// ran, then prints the seat list if it changed.
    async fn settle(&mut self) -> Result<()> {
        for m in &self.members {
            m.client.ping().await?;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
        let seats = self.members[0]
            .store
            .co_guest_state()
            .connected
            .borrow()
            .iter()
            .map(|s| format!("#{} {}", s.seat_index, s.user_name))
            .collect::<Vec<_>>()
            .join(", ");
        if seats != self.last_seats {
            println!("    connected: [{seats}]");
            self.last_seats = seats;
        }
        Ok(())
    }
}

fn step(n: u32, what: &str) {
    println!("\n{n}. {what}");
}

/// Prints a call, runs it, prints its result (callbacks may print in between: they run as
/// the server's messages arrive).
async fn call(
    who: &str,
    what: &str,
    fut: impl std::future::Future<Output = Result<(), coguest_client::CoGuestError>>,
) {
    println!("    {who:<6} -> {what}");
    let r = fut.await;
    result(who, what, &r);
}

fn result(who: &str, what: &str, r: &Result<(), coguest_client::CoGuestError>) {
    match r {
        Ok(()) => println!("    {who:<6} == {what}: ok"),
        Err(e) => println!(
            "    {who:<6} == {what}: error {} ({})",
            e.code(),
            e.message()
        ),
    }
}

async fn play(args: DemoArgs) -> Result<()> {
    // A fresh, unpredictable directory, removed when `dir` drops (on every path out).
    let dir = tempfile::Builder::new()
        .prefix("coguest-demo-")
        .tempdir()
        .context("creating a temporary data directory")?;
    let secret = b"coguest-demo".to_vec();
    let start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(0))
        .unwrap_or(0);
    let clock = ManualClock::new(Timestamp::from_millis(start));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let mut config = ServerConfig::new(dir.path(), secret.clone());
    let url = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => {
            config.edge.tls = Some(TlsFiles { cert, key });
            format!("wss://localhost:{}", addr.port())
        }
        _ => format!("ws://{addr}"),
    };
    let server = Server::builder(config)
        .clock(Arc::new(clock.clone()))
        .start(listener)
        .await?;
    println!(
        "coguest demo: a server on {url} (data in {})",
        dir.path().display()
    );
    println!("`->` is a call, `==` its result, `<-` a listener callback as it runs.");
    let result = script(&url, args.ca_file.as_deref(), &secret, &clock).await;
    let stopped = server.shutdown().await;
    // The script's error first; then the shutdown's. `dir` is removed as it drops.
    result?;
    stopped?;
    Ok(())
}

async fn script(
    url: &str,
    ca_file: Option<&Path>,
    secret: &[u8],
    clock: &ManualClock,
) -> Result<()> {
    let auth = Auth::new(secret);
    let cast: [(&'static str, &str, Role); 5] = [
        ("alice", "Alice", Role::Owner),
        ("adam", "Adam", Role::Admin),
        ("bob", "Bob", Role::Audience),
        ("carol", "Carol", Role::Audience),
        ("dave", "Dave", Role::Audience),
    ];
    let room = "live_room_123";
    step(
        1,
        "Everyone joins the live room: Alice (owner), Adam (admin), Bob, Carol, Dave",
    );
    let mut members = Vec::new();
    for (id, name, role) in cast {
        let mut claims = Claims::new(id, role, clock.now(), 3600);
        claims.name = name.to_owned();
        let token = auth.mint(&claims)?;
        let mut builder = Client::builder(&token).url(url);
        if let Some(ca) = ca_file {
            builder = builder.ca_file(ca)?;
        }
        let client = builder.connect().await?;
        let store = CoGuestStore::create(&client, room).await?;
        let printer = Arc::new(Printer { who: id });
        if matches!(role, Role::Owner | Role::Admin) {
            store.add_host_listener(printer.clone());
        }
        store.add_guest_listener(printer);
        members.push(Member { client, store });
    }
    let mut demo = Demo {
        members,
        last_seats: String::new(),
    };
    demo.settle().await?;
    let candidates = demo.members[0].store.co_guest_state().candidates;
    let names: Vec<String> = candidates
        .borrow()
        .iter()
        .map(|u| u.user_name.clone())
        .collect();
    println!("    candidates (seen by hosts): [{}]", names.join(", "));
    let [alice, adam, bob, carol, dave] = [0, 1, 2, 3, 4].map(|i| demo.members[i].store.clone());

    step(2, "Bob applies for any seat; Alice accepts");
    call(
        "bob",
        "apply_for_seat(-1, 30s)",
        bob.apply_for_seat(-1, 30, Some("{\"msg\":\"hi\"}")),
    )
    .await;
    demo.settle().await?;
    let applicants = alice.co_guest_state().applicants;
    let names: Vec<String> = applicants
        .borrow()
        .iter()
        .map(|u| u.user_name.clone())
        .collect();
    println!("    applicants: [{}]", names.join(", "));
    call(
        "alice",
        "accept_application(bob)",
        alice.accept_application("bob"),
    )
    .await;
    demo.settle().await?;

    step(3, "Carol applies; Adam rejects");
    call(
        "carol",
        "apply_for_seat(-1, 30s)",
        carol.apply_for_seat(-1, 30, None),
    )
    .await;
    demo.settle().await?;
    call(
        "adam",
        "reject_application(carol)",
        adam.reject_application("carol"),
    )
    .await;
    demo.settle().await?;

    step(4, "Alice invites Dave to seat 2; Dave accepts");
    call(
        "alice",
        "invite_to_seat(dave, 2, 30s)",
        alice.invite_to_seat("dave", 2, 30, Some("{\"msg\":\"join me\"}")),
    )
    .await;
    demo.settle().await?;
    call(
        "dave",
        "accept_invitation(alice)",
        dave.accept_invitation("alice"),
    )
    .await;
    demo.settle().await?;

    step(
        5,
        "Carol applies again with a 30 s timeout; nobody answers (server clock +31 s)",
    );
    call(
        "carol",
        "apply_for_seat(-1, 30s)",
        carol.apply_for_seat(-1, 30, None),
    )
    .await;
    demo.settle().await?;
    clock.advance_secs(31);
    demo.settle().await?;

    step(
        6,
        "Carol applies once more; Alice and Adam accept at the same moment",
    );
    call(
        "carol",
        "apply_for_seat(-1, 30s)",
        carol.apply_for_seat(-1, 30, None),
    )
    .await;
    demo.settle().await?;
    println!("    alice  -> accept_application(carol)");
    println!("    adam   -> accept_application(carol)");
    let (a, b) = tokio::join!(
        alice.accept_application("carol"),
        adam.accept_application("carol")
    );
    result("alice", "accept_application(carol)", &a);
    result("adam", "accept_application(carol)", &b);
    demo.settle().await?;

    step(7, "Bob leaves his seat");
    call("bob", "disconnect()", bob.disconnect()).await;
    demo.settle().await?;

    println!("\nDone.");
    for m in &demo.members {
        m.client.close();
    }
    Ok(())
}
