//! The web console is served from the binary: `/console` and its files with their content
//! types and a strict content security policy, and `/` redirecting there.

use crate::common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `GET path`: the status and the lower-cased header lines and the body.
async fn get(s: &TestServer, path: &str) -> (u16, String, String) {
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (
        head[9..12].parse().unwrap(),
        head.to_ascii_lowercase(),
        body.to_owned(),
    )
}

#[tokio::test]
async fn the_console_is_served_with_its_content_types_and_root_redirects_to_it() {
    let s = TestServer::start().await;
    let (status, head, body) = get(&s, "/").await;
    assert!(matches!(status, 303 | 307 | 308), "{status}");
    assert!(head.contains("\r\nlocation: /console"), "{head}");

    for (path, kind) in [
        ("/console", "text/html; charset=utf-8"),
        ("/console/app.js", "text/javascript; charset=utf-8"),
        ("/console/app.css", "text/css; charset=utf-8"),
    ] {
        let (status, head, body) = get(&s, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            head.contains(&format!("content-type: {kind}")),
            "{path}: {head}"
        );
        assert!(
            head.contains("content-security-policy: default-src 'none'; script-src 'self'"),
            "{path}: {head}"
        );
        assert!(head.contains("x-content-type-options: nosniff"), "{head}");
        assert!(!body.is_empty(), "{path} is empty");
    }
    // The page loads its own files only: no CDN.
    let (_, _, html) = get(&s, "/console").await;
    assert!(
        html.contains("app.js") && html.contains("app.css"),
        "{html}"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    drop(body);
}
