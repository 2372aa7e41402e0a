//! The stable rule that assigns each Kafka partition to exactly one timely worker.
//!
//! It must give the same answer in every process of a cluster and across restarts, so it uses
//! FNV-1a (fixed, documented) rather than std's randomly seeded hasher.

/// 64-bit FNV-1a hash of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

/// The worker (0-based, out of `peers` workers in all processes) that reads `partition` of
/// `topic`: `(fnv1a(topic) + partition) mod peers`.
///
/// Consecutive partitions of one topic go to consecutive workers, so a topic with at least
/// `peers` partitions keeps every worker busy; the topic hash staggers where each topic
/// starts. `peers == 0` is treated as 1.
pub fn owner(topic: &str, partition: i32, peers: usize) -> usize {
    let peers = peers.max(1) as u64;
    let partition = u64::from(partition.unsigned_abs());
    (fnv1a(topic.as_bytes()).wrapping_add(partition) % peers) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_known_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn owner_is_stable_and_spreads() {
        assert_eq!(owner("orders.events", 0, 1), 0);
        assert_eq!(owner("orders.events", 5, 0), 0);
        for peers in 1..8 {
            let mut counts = vec![0; peers];
            for p in 0..(peers as i32 * 3) {
                let w = owner("orders.events", p, peers);
                assert!(w < peers);
                assert_eq!(w, owner("orders.events", p, peers));
                counts[w] += 1;
            }
            assert!(counts.iter().all(|&c| c == 3), "{counts:?}");
        }
    }
}
