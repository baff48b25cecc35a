//! The tests' Redis (`COGUEST_TEST_REDIS`, default 127.0.0.1:6379), spoken to without a client
//! library: one command on a fresh connection, and a tap on every message a cluster publishes.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The Redis the cluster tests (and the bench's cluster smoke tests) use.
pub fn redis_url() -> String {
    std::env::var("COGUEST_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The test's Redis: `AUTH` arguments from the URL, if any, and `host:port`.
pub fn redis_addr() -> (Option<Vec<String>>, String) {
    let url = redis_url();
    let rest = url.trim_start_matches("redis://");
    let rest = rest.split('/').next().unwrap_or(rest);
    match rest.rsplit_once('@') {
        Some((auth, hostport)) => {
            let args = match auth.split_once(':') {
                Some(("", pass)) => vec!["AUTH".into(), pass.into()],
                Some((user, pass)) => vec!["AUTH".into(), user.into(), pass.into()],
                None => vec!["AUTH".into(), auth.into()],
            };
            (Some(args), hostport.to_owned())
        }
        None => (None, rest.to_owned()),
    }
}

/// Connects to the test's Redis (a read timeout of 5 s) and writes `AUTH` (when the URL has
/// credentials) then `args`; the stream and how many commands it wrote.
fn send(args: &[&str]) -> std::io::Result<(TcpStream, usize)> {
    let (auth, hostport) = redis_addr();
    send_to(auth, &hostport, args)
}

/// [`send`] to the Redis at `hostport`.
fn send_to(
    auth: Option<Vec<String>>,
    hostport: &str,
    args: &[&str],
) -> std::io::Result<(TcpStream, usize)> {
    let stream = TcpStream::connect(hostport)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut cmds: Vec<Vec<String>> = auth.into_iter().collect();
    cmds.push(args.iter().map(|a| a.to_string()).collect());
    let mut out = Vec::new();
    for cmd in &cmds {
        write!(out, "*{}\r\n", cmd.len())?;
        for a in cmd {
            write!(out, "${}\r\n{a}\r\n", a.len())?;
        }
    }
    (&stream).write_all(&out)?;
    Ok((stream, cmds.len()))
}

/// One Redis command on a fresh connection; the reply as text. The replies the tests read are
/// a simple string, an integer or one bulk string.
pub fn try_redis(args: &[&str]) -> Result<String, String> {
    reply(send(args), args)
}

/// [`try_redis`] on the Redis at `hostport` (no credentials).
pub fn try_redis_at(hostport: &str, args: &[&str]) -> Result<String, String> {
    reply(send_to(None, hostport, args), args)
}

fn reply(sent: std::io::Result<(TcpStream, usize)>, args: &[&str]) -> Result<String, String> {
    let (stream, commands) = sent.map_err(|e| e.to_string())?;
    let mut r = BufReader::new(&stream);
    let mut reply = Vec::new();
    for _ in 0..commands {
        reply = read_resp(&mut r).map_err(|e| format!("Redis {args:?}: {e}"))?;
    }
    Ok(reply.concat())
}

pub fn redis(args: &[&str]) -> String {
    try_redis(args).unwrap()
}

/// One RESP reply, flattened to its scalars (the replies a subscription gets are a simple
/// string, an integer, a bulk string or an array of those).
fn read_resp(r: &mut impl BufRead) -> std::io::Result<Vec<String>> {
    use std::io::Error;
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(Error::other("closed"));
    }
    let line = line.trim_end();
    let bad = || Error::other(format!("bad reply {line:?}"));
    match line.split_at_checked(1) {
        Some(("+" | ":", v)) => Ok(vec![v.to_owned()]),
        Some(("$", "-1")) => Ok(Vec::new()),
        Some(("$", n)) => {
            let n: usize = n.parse().map_err(|_| bad())?;
            let mut buf = vec![0; n + 2];
            r.read_exact(&mut buf)?;
            Ok(vec![String::from_utf8_lossy(&buf[..n]).into_owned()])
        }
        Some(("*", n)) => {
            let n: usize = n.parse().map_err(|_| bad())?;
            let mut all = Vec::new();
            for _ in 0..n {
                all.extend(read_resp(r)?);
            }
            Ok(all)
        }
        _ => Err(Error::other(format!("Redis: {line}"))),
    }
}

/// Every message published on a cluster's channels (`{prefix}:ch:*`), as `(channel, payload)`
/// in the order Redis delivered them: a raw connection doing PSUBSCRIBE, read on a thread.
pub struct Tap {
    prefix: String,
    stream: TcpStream,
    rx: std::sync::mpsc::Receiver<(String, String)>,
    reader: Option<std::thread::JoinHandle<()>>,
    markers: u64,
}

impl Tap {
    /// Subscribed once this returns.
    pub fn start(prefix: &str) -> Self {
        let pattern = format!("{prefix}:ch:*");
        let (stream, commands) = send(&["PSUBSCRIBE", &pattern]).unwrap();
        let mut r = BufReader::new(stream.try_clone().unwrap());
        if commands > 1 {
            assert_eq!(read_resp(&mut r).unwrap(), ["OK"]);
        }
        let confirmed = read_resp(&mut r).unwrap();
        assert_eq!(confirmed[0], "psubscribe", "{confirmed:?}");
        // From now on the thread waits as long as it takes; dropping the tap shuts the socket.
        stream.set_read_timeout(None).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            while let Ok(m) = read_resp(&mut r) {
                if let [kind, _pattern, channel, payload] = m.as_slice() {
                    if kind == "pmessage" && tx.send((channel.clone(), payload.clone())).is_err() {
                        return;
                    }
                }
            }
        });
        Tap {
            prefix: prefix.to_owned(),
            stream,
            rx,
            reader: Some(reader),
            markers: 0,
        }
    }

    /// Everything received since the last call, up to a marker published now: Redis delivers
    /// one subscriber's messages in publishing order, so this holds everything published
    /// before this call.
    pub fn drain(&mut self) -> Vec<(String, String)> {
        self.markers += 1;
        let channel = format!("{}:ch:tap-marker", self.prefix);
        let marker = format!("marker-{}", self.markers);
        redis(&["PUBLISH", &channel, &marker]);
        let mut got = Vec::new();
        loop {
            let m = self
                .rx
                .recv_timeout(Duration::from_secs(5))
                .expect("the tap's marker did not come back");
            if m == (channel.clone(), marker.clone()) {
                return got;
            }
            got.push(m);
        }
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}
