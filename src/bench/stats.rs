//! Latency recording: a log-linear histogram (exact below 128 µs, within
//! 1/64 relative error above) so that millions of samples (watch fan-out)
//! take constant memory, plus request and error counts.

use std::collections::BTreeMap;
use std::time::Duration;

const LINEAR: u64 = 128;
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
/// Values are clamped to 2^40 µs (about 12 days).
const MAX_MSB: u32 = 40;
const BUCKETS: usize = LINEAR as usize + (MAX_MSB as usize - 6) * SUB as usize;

fn index(us: u64) -> usize {
    let v = us.min((1 << (MAX_MSB + 1)) - 1);
    if v < LINEAR {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros(); // >= 7
    let shift = msb - SUB_BITS;
    let sub = (v >> shift) - SUB; // in [0, 64)
    LINEAR as usize + (msb as usize - 7) * SUB as usize + sub as usize
}

/// The middle of a bucket (its exact value in the linear range).
fn representative(i: usize) -> u64 {
    if (i as u64) < LINEAR {
        return i as u64;
    }
    let j = i as u64 - LINEAR;
    let msb = (j / SUB) as u32 + 7;
    let sub = j % SUB;
    let shift = msb - SUB_BITS;
    let low = (SUB + sub) << shift;
    low + (1 << shift) / 2
}

#[derive(Clone, Debug)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max_us: u64,
    sum_us: u128,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            max_us: 0,
            sum_us: 0,
        }
    }
}

impl Histogram {
    pub fn record_us(&mut self, us: u64) {
        self.counts[index(us)] += 1;
        self.total += 1;
        self.max_us = self.max_us.max(us);
        self.sum_us += u128::from(us);
    }

    pub fn record(&mut self, d: Duration) {
        self.record_us(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn max_us(&self) -> u64 {
        self.max_us
    }

    pub fn mean_us(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum_us as f64 / self.total as f64
        }
    }

    /// Nearest-rank percentile (`q` in 0..=1), in µs; 0 when empty.
    pub fn percentile_us(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        if rank >= self.total {
            return self.max_us;
        }
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return representative(i).min(self.max_us);
            }
        }
        self.max_us
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max_us = self.max_us.max(other.max_us);
        self.sum_us += other.sum_us;
    }
}

/// Requests of one kind: latencies, count, failures by HTTP code (or
/// `timeout` / `transport`).
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub latency: Histogram,
    pub requests: u64,
    pub errors: BTreeMap<String, u64>,
}

impl Stats {
    pub fn ok(&mut self, d: Duration) {
        self.requests += 1;
        self.latency.record(d);
    }

    pub fn fail(&mut self, d: Duration, key: impl Into<String>) {
        self.requests += 1;
        self.latency.record(d);
        *self.errors.entry(key.into()).or_default() += 1;
    }

    /// An error that is not a request of its own (e.g. a missed watch event).
    pub fn error_only(&mut self, key: impl Into<String>, n: u64) {
        if n > 0 {
            *self.errors.entry(key.into()).or_default() += n;
        }
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    pub fn merge(&mut self, other: &Stats) {
        self.latency.merge(&other.latency);
        self.requests += other.requests;
        for (k, v) in &other.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_in_the_linear_range() {
        let mut h = Histogram::default();
        for v in 1..=100 {
            h.record_us(v);
        }
        assert_eq!(h.percentile_us(0.5), 50);
        assert_eq!(h.percentile_us(0.9), 90);
        assert_eq!(h.percentile_us(0.99), 99);
        assert_eq!(h.percentile_us(1.0), 100);
        assert_eq!(h.percentile_us(0.0), 1);
        assert_eq!(h.max_us(), 100);
        assert!((h.mean_us() - 50.5).abs() < 1e-9);
    }

    #[test]
    fn within_one_sixty_fourth_above() {
        let mut h = Histogram::default();
        for v in 1..=100_000u64 {
            h.record_us(v * 10);
        }
        for (q, want) in [(0.5, 500_000.0), (0.9, 900_000.0), (0.99, 990_000.0)] {
            let got = h.percentile_us(q) as f64;
            assert!((got - want).abs() / want <= 1.0 / 64.0, "q={q} got {got}");
        }
        assert_eq!(h.percentile_us(1.0), 1_000_000);
    }

    #[test]
    fn buckets_are_contiguous_and_ordered() {
        let mut last = 0;
        for v in 0..200_000u64 {
            let i = index(v);
            assert!(i == last || i == last + 1, "v={v}");
            last = i;
            let r = representative(i);
            assert!(r.abs_diff(v) as f64 <= (v as f64 / 64.0).max(0.0) + 1.0);
        }
        assert!(index(u64::MAX) < BUCKETS);
    }

    #[test]
    fn empty_and_merge() {
        let h = Histogram::default();
        assert_eq!(h.percentile_us(0.99), 0);
        let mut a = Stats::default();
        a.ok(Duration::from_millis(1));
        a.fail(Duration::from_millis(3), "409");
        let mut b = Stats::default();
        b.fail(Duration::from_millis(2), "409");
        b.error_only("missed", 2);
        b.error_only("none", 0);
        a.merge(&b);
        assert_eq!(a.requests, 3);
        assert_eq!(a.error_count(), 4);
        assert_eq!(a.errors.get("409"), Some(&2));
        assert!(!a.errors.contains_key("none"));
        assert_eq!(a.latency.max_us(), 3000);
        assert!(a.latency.percentile_us(0.5).abs_diff(2000) <= 2000 / 64);
    }
}
