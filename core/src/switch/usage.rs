//! The attached ports ranked by how many addresses each holds: a binary max-heap
//! threaded through the port slots, so that a full MAC table finds the port holding the
//! most entries in O(1) and keeps the ranking in O(log ports) per learned or forgotten
//! address (Open vSwitch's MAC learning evicts the same way).
//!
//! Heap position `k` is stored in port slot `k` (`by_usage`, independent of that slot's
//! own port, as the dense port list does); each port knows its position (`usage_pos`).

use super::PortSlot;

/// How many addresses port `p` holds.
fn learned(ports: &[PortSlot], p: u16) -> u32 {
    ports[usize::from(p)].learned
}

/// The port at heap position `k`.
fn at(ports: &[PortSlot], k: usize) -> u16 {
    ports[k].by_usage
}

fn swap(ports: &mut [PortSlot], a: usize, b: usize) {
    let (pa, pb) = (at(ports, a), at(ports, b));
    ports[a].by_usage = pb;
    ports[b].by_usage = pa;
    ports[usize::from(pa)].usage_pos = b as u16;
    ports[usize::from(pb)].usage_pos = a as u16;
}

fn sift_up(ports: &mut [PortSlot], mut k: usize) {
    while k > 0 {
        let parent = (k - 1) / 2;
        if learned(ports, at(ports, parent)) >= learned(ports, at(ports, k)) {
            break;
        }
        swap(ports, parent, k);
        k = parent;
    }
}

fn sift_down(ports: &mut [PortSlot], len: usize, mut k: usize) {
    loop {
        let left = 2 * k + 1;
        if left >= len {
            break;
        }
        let right = left + 1;
        let child =
            if right < len && learned(ports, at(ports, right)) > learned(ports, at(ports, left)) {
                right
            } else {
                left
            };
        if learned(ports, at(ports, child)) <= learned(ports, at(ports, k)) {
            break;
        }
        swap(ports, k, child);
        k = child;
    }
}

/// Adds `port` (holding no addresses) to a heap of `len` ports.
pub(super) fn push(ports: &mut [PortSlot], len: &mut usize, port: u16) {
    let k = *len;
    ports[k].by_usage = port;
    ports[usize::from(port)].usage_pos = k as u16;
    *len += 1;
    sift_up(ports, k);
}

/// Takes `port` out of a heap of `len` ports.
pub(super) fn remove(ports: &mut [PortSlot], len: &mut usize, port: u16) {
    let k = usize::from(ports[usize::from(port)].usage_pos);
    let last = *len - 1;
    swap(ports, k, last);
    *len -= 1;
    if k < *len {
        sift_down(ports, *len, k);
        sift_up(ports, k);
    }
}

/// `port` holds one address more than before.
pub(super) fn raised(ports: &mut [PortSlot], port: u16) {
    sift_up(ports, usize::from(ports[usize::from(port)].usage_pos));
}

/// `port` holds one address fewer than before.
pub(super) fn lowered(ports: &mut [PortSlot], len: usize, port: u16) {
    sift_down(ports, len, usize::from(ports[usize::from(port)].usage_pos));
}

/// The port holding the most addresses (any of them on a tie); `None` when no port is
/// attached.
pub(super) fn top(ports: &[PortSlot], len: usize) -> Option<u16> {
    (len > 0).then(|| at(ports, 0))
}
