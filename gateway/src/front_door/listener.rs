//! Binding the front door's port with a listen backlog that matches the cap on
//! connections not yet logged in (issue 12): connections the kernel completes but the
//! gateway hasn't accepted yet are bounded by the same number.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket};

/// Binds `addr` and listens with a backlog of `backlog` (clamped to `u32`; the kernel
/// clamps it further to `net.core.somaxconn`).
pub fn bind(addr: SocketAddr, backlog: usize) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: a restarted gateway can bind while old connections
    // are in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(u32::try_from(backlog).unwrap_or(u32::MAX).max(1))
}
