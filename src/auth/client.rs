//! Who the client is by address: the connection's peer, or behind trusted proxies the address
//! they forward; and the key one client's connections and failed attempts are counted under.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;

/// `addr` as one address: an IPv4-mapped IPv6 address (a dual-stack listener's view of an IPv4
/// peer) as the IPv4 address, so it matches `TRUSTED_PROXIES` written either way.
pub fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

/// What a client address is counted under, by the connection cap and the token throttle alike:
/// IPv4 whole, IPv6 by its /64 (one client usually holds the whole /64), an IPv4-mapped IPv6
/// address as the IPv4 one.
pub fn client_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// The client's address: the connection's peer, or — when the peer is one of the `trusted`
/// proxies — the nearest address in `X-Forwarded-For` that is not one of them.
pub fn client_ip(
    extensions: &axum::http::Extensions,
    headers: &axum::http::HeaderMap,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| canonical(addr.ip()))?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    Some(
        forwarded
            .iter()
            .rev()
            .map_while(|a| a.parse::<IpAddr>().ok().map(canonical))
            .find(|a| !trusted.contains(a))
            .unwrap_or(peer),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trusted_proxy_names_the_client_others_cannot() {
        let mut extensions = axum::http::Extensions::new();
        extensions.insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 2], 5000))));
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("x-forwarded-for", "198.51.100.9, 10.0.0.1".parse().unwrap());
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let inner: IpAddr = "10.0.0.1".parse().unwrap();
        let client = |trusted: &[IpAddr]| client_ip(&extensions, &headers, trusted).unwrap();
        assert_eq!(client(&[]), proxy, "an untrusted peer is the client");
        assert_eq!(client(&[proxy]), inner);
        assert_eq!(
            client(&[proxy, inner]),
            "198.51.100.9".parse::<IpAddr>().unwrap()
        );
    }
}
