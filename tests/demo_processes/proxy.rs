//! A fault-injecting TCP proxy between two node processes, for the tests of faults between
//! tiers. The caller's configuration names the proxy as the other node's URL
//! (`Demo::proxy`); the test then switches the fault while the nodes run. A fault reaches the
//! connections already open too — nodes keep pooled keep-alive connections to their
//! neighbours, and a partition or a slow link does not spare those.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

/// What the link between the two nodes does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Bytes pass both ways unchanged.
    Pass,
    /// Requests pass at once; what the target answers reaches the caller this much later.
    Delay(Duration),
    /// Every connection, open or new, is closed with a TCP reset (RST).
    Reset,
    /// Connections are accepted and what the caller sends is swallowed; nothing ever comes
    /// back, and the target sees nothing. Switching away from it resets the swallowed
    /// connections, whose byte streams are no longer whole.
    BlackHole,
}

/// A running proxy; it stops, resetting its connections, when dropped.
pub struct Proxy {
    addr: SocketAddr,
    fault: watch::Sender<Fault>,
    received: Arc<AtomicU64>,
    accept: tokio::task::AbortHandle,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `target`, passing bytes through.
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (fault, watching) = watch::channel(Fault::Pass);
        let received = Arc::new(AtomicU64::new(0));
        let accept = tokio::spawn(accept(listener, target, watching, received.clone()));
        Proxy {
            addr,
            fault,
            received,
            accept: accept.abort_handle(),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Changes the fault, for open connections and new ones alike.
    pub fn set(&self, fault: Fault) {
        self.fault.send_replace(fault);
    }

    /// Bytes received from callers so far (forwarded or swallowed): shows that a call has
    /// reached the link.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::SeqCst)
    }
}

async fn accept(
    listener: TcpListener,
    target: SocketAddr,
    fault: watch::Receiver<Fault>,
    received: Arc<AtomicU64>,
) {
    loop {
        let Ok((caller, _)) = listener.accept().await else {
            continue;
        };
        let _ = caller.set_nodelay(true);
        tokio::spawn(link(caller, target, fault.clone(), received.clone()));
    }
}

/// Closes a connection with RST rather than FIN: the peer sees "connection reset".
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// One caller's connection, for as long as it lasts.
async fn link(
    mut caller: TcpStream,
    target: SocketAddr,
    mut fault: watch::Receiver<Fault>,
    received: Arc<AtomicU64>,
) {
    let at_accept = *fault.borrow_and_update();
    match at_accept {
        Fault::Reset => return reset(caller),
        Fault::BlackHole => return swallow(caller, fault, received).await,
        Fault::Pass | Fault::Delay(_) => {}
    }
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        // The target is down: the caller sees what it would see calling it directly.
        return reset(caller);
    };
    let _ = upstream.set_nodelay(true);
    // Answers waiting for their time, oldest first.
    let mut due: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    let mut upstream_open = true;
    let mut swallowed = false;
    let mut from_caller = vec![0u8; 16 * 1024];
    let mut from_target = vec![0u8; 16 * 1024];
    loop {
        if !upstream_open && due.is_empty() {
            return;
        }
        let next = due.front().map(|(at, _)| *at);
        let (mut cr, mut cw) = caller.split();
        let (mut ur, mut uw) = upstream.split();
        tokio::select! {
            read = cr.read(&mut from_caller) => {
                let n = match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                received.fetch_add(n as u64, Ordering::SeqCst);
                let now = *fault.borrow();
                match now {
                    Fault::Reset => break,
                    Fault::BlackHole => swallowed = true,
                    Fault::Pass | Fault::Delay(_) => {
                        if uw.write_all(&from_caller[..n]).await.is_err() {
                            break;
                        }
                    }
                }
            }
            read = ur.read(&mut from_target), if upstream_open => {
                let n = match read {
                    Ok(0) | Err(_) => {
                        upstream_open = false;
                        continue;
                    }
                    Ok(n) => n,
                };
                let now = *fault.borrow();
                match now {
                    Fault::Reset => break,
                    Fault::BlackHole => swallowed = true,
                    Fault::Pass => due.push_back((Instant::now(), from_target[..n].to_vec())),
                    Fault::Delay(d) => {
                        due.push_back((Instant::now() + d, from_target[..n].to_vec()))
                    }
                }
            }
            () = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {
                if let Some((_, bytes)) = due.pop_front() {
                    if cw.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
            }
            changed = fault.changed() => {
                let now = *fault.borrow();
                match (changed, now) {
                    // The proxy is gone, or the link is cut.
                    (Err(_), _) | (Ok(()), Fault::Reset) => break,
                    (Ok(()), _) if swallowed => break,
                    (Ok(()), Fault::BlackHole) => due.clear(),
                    (Ok(()), Fault::Pass | Fault::Delay(_)) => {}
                }
            }
        }
    }
    reset(caller);
    reset(upstream);
}

/// A connection accepted while the link is a black hole: read and dropped until the caller
/// gives up or the fault changes.
async fn swallow(
    mut caller: TcpStream,
    mut fault: watch::Receiver<Fault>,
    received: Arc<AtomicU64>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            read = caller.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    received.fetch_add(n as u64, Ordering::SeqCst);
                }
            },
            _ = fault.changed() => return reset(caller),
        }
    }
}
