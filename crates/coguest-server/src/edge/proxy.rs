//! Behind a reverse proxy: the client address a trusted proxy forwards in `X-Forwarded-For`.

use crate::config::IpNet;
use axum::http::HeaderMap;
use std::net::{IpAddr, SocketAddr};

/// Whether `ip` is one of the trusted proxies.
pub(crate) fn trusted(proxies: &[IpNet], ip: IpAddr) -> bool {
    proxies.iter().any(|p| p.contains(ip))
}

/// The client behind a trusted proxy `peer`: the last hop of `X-Forwarded-For` (every such
/// header, in order) that is not itself a trusted proxy. Hops further left were written by
/// whoever sent the request and can be anything; only the trusted proxies' own additions are
/// believed. Without the header, or when a hop is not an address, the last address believed.
pub(crate) fn forwarded_client(proxies: &[IpNet], peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            break;
        };
        client = ip;
        if !trusted(proxies, ip) {
            break;
        }
    }
    client.to_canonical()
}

/// One hop: an address, possibly with a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`), as
/// some proxies write it.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn client(proxies: &[&str], peer: &str, xff: &[&str]) -> String {
        let proxies: Vec<IpNet> = proxies
            .iter()
            .map(|p| p.parse().unwrap_or_else(|e| panic!("{e}")))
            .collect();
        let mut headers = HeaderMap::new();
        for v in xff {
            headers.append(
                "x-forwarded-for",
                HeaderValue::from_str(v).unwrap_or_else(|e| panic!("{e}")),
            );
        }
        forwarded_client(&proxies, ip(peer), &headers).to_string()
    }

    #[test]
    fn the_last_untrusted_hop_is_the_client() {
        // One proxy appends the client.
        assert_eq!(
            client(&["10.0.0.1"], "10.0.0.1", &["203.0.113.7"]),
            "203.0.113.7"
        );
        // The client wrote a hop of its own: ignored.
        assert_eq!(
            client(&["10.0.0.1"], "10.0.0.1", &["198.51.100.1, 203.0.113.7"]),
            "203.0.113.7"
        );
        // Two proxies in a row (a CDN then a load balancer), over two header lines.
        assert_eq!(
            client(
                &["10.0.0.0/8"],
                "10.0.0.1",
                &["198.51.100.1, 203.0.113.7", "10.0.0.2"]
            ),
            "203.0.113.7"
        );
        // Ports and IPv6.
        assert_eq!(
            client(&["::1"], "::1", &["[2001:db8::5]:4711"]),
            "2001:db8::5"
        );
        assert_eq!(client(&["::1"], "::1", &["192.0.2.1:80"]), "192.0.2.1");
        // No header: the proxy itself.
        assert_eq!(client(&["10.0.0.1"], "10.0.0.1", &[]), "10.0.0.1");
        // Garbage stops the walk at the last address believed.
        assert_eq!(
            client(
                &["10.0.0.0/8"],
                "10.0.0.1",
                &["203.0.113.7, junk, 10.0.0.2"]
            ),
            "10.0.0.2"
        );
        assert_eq!(client(&["10.0.0.1"], "10.0.0.1", &["junk"]), "10.0.0.1");
        // Only trusted hops: the leftmost.
        assert_eq!(
            client(&["10.0.0.0/8"], "10.0.0.1", &["10.0.0.3, 10.0.0.2"]),
            "10.0.0.3"
        );
    }
}
