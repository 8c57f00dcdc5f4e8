//! A decode memory budget shared by threads, so that parallel decoding does not multiply the
//! per-image allocation limit.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::{self, ThreadId};

use crate::error::{Error, Limit, Result};

/// The capacity of [`DecodeBudget::shared`], the budget every [`DecodeOptions`] uses unless told
/// otherwise: 256 MiB, the default [`Limits::max_alloc`], so one image at the limit decodes alone
/// and smaller ones decode side by side.
///
/// [`DecodeOptions`]: super::DecodeOptions
/// [`Limits::max_alloc`]: super::Limits::max_alloc
pub const DEFAULT_BUDGET: u64 = 256 << 20;

/// Memory that decodes running at the same time may use together, in bytes, shared by every
/// thread that holds a clone.
///
/// Each [`decode`](super::decode) reserves, before it reads the header, what reading a header
/// may take (a copy of the input and the metadata limit of 16 MiB, or `max_alloc` if smaller);
/// then it works out from the header how much memory the decode will need (the same estimate it
/// checks against [`Limits::max_alloc`](super::Limits::max_alloc)) and changes its reservation to
/// that before it allocates any pixels. It gives everything back when it returns, whether it
/// succeeded, failed or panicked. A decode never waits while it holds part of the budget: if
/// the budget cannot grow at once, it gives its part back and waits for the whole. When the budget is spent, a decode waits
/// until earlier ones finish; requests are served first come, first served, so none starves.
/// A request larger than the whole budget (possible only with a `max_alloc` above the budget)
/// waits until no other decode is running and then runs alone, so the memory of decodes in
/// flight never exceeds the larger of the budget and one image's `max_alloc`.
///
/// By default a reservation is held only while one `decode` call runs, and nothing in a decode
/// waits for anything else, so waiting can never deadlock, whatever the caller holds; the
/// decoded image that `decode` returns is then no longer counted. With
/// [`DecodeOptions::keep_reserved`](super::DecodeOptions::keep_reserved) the image keeps the
/// bytes of its pixels reserved until it is dropped, so a thread's image counts while it is
/// hashed ([`Hasher`](crate::algo::Hasher) always works this way, and so does the CLI). A thread
/// that already holds a reservation never waits for another one (it could be waiting for
/// itself).
///
/// Cheap to clone (one [`Arc`]); clones share the same budget. Every [`DecodeOptions`] starts
/// with [`DecodeBudget::shared`], one budget for the whole process, so that a program decoding on
/// any number of threads stays within [`DEFAULT_BUDGET`] (plus the decoded images its threads
/// are hashing) without doing anything.
///
/// ```
/// use hashsieve::image::{DecodeBudget, DecodeOptions};
/// // A budget of 64 MiB shared by the decodes of one service, apart from the rest of the process.
/// let budget = DecodeBudget::new(64 << 20);
/// let opts = DecodeOptions::default().budget(budget.clone());
/// assert_eq!(opts.budget.capacity(), 64 << 20);
/// assert_eq!(budget.in_use(), 0);
/// ```
///
/// [`DecodeOptions`]: super::DecodeOptions
#[derive(Clone)]
pub struct DecodeBudget {
    inner: Arc<Inner>,
}

struct Inner {
    capacity: u64,
    state: Mutex<State>,
    freed: Condvar,
}

#[derive(Default)]
struct State {
    /// Bytes reserved.
    used: u64,
    /// Reservations held.
    holders: usize,
    /// Reservations held, by the thread that made them (a handful of entries: one per thread).
    by_thread: Vec<(ThreadId, usize)>,
    /// The next ticket to hand out, and the ticket now allowed to reserve (first come, first
    /// served).
    next_ticket: u64,
    serving: u64,
}

impl DecodeBudget {
    /// A new budget of `bytes`, shared by its clones only.
    ///
    /// # Panics
    ///
    /// If `bytes` is 0 (no decode could ever run).
    pub fn new(bytes: u64) -> DecodeBudget {
        assert!(bytes > 0, "a decode budget of 0 bytes admits nothing");
        DecodeBudget {
            inner: Arc::new(Inner {
                capacity: bytes,
                state: Mutex::new(State::default()),
                freed: Condvar::new(),
            }),
        }
    }

    /// A budget that never makes a decode wait: each decode is held to its own
    /// [`Limits::max_alloc`](super::Limits::max_alloc) only, so `n` threads may use `n` times it.
    pub fn unlimited() -> DecodeBudget {
        DecodeBudget::new(u64::MAX)
    }

    /// The process-wide budget of [`DEFAULT_BUDGET`] bytes that [`DecodeOptions::default`]
    /// uses: every decode in the process that does not name another budget shares it.
    ///
    /// [`DecodeOptions::default`]: super::DecodeOptions
    pub fn shared() -> DecodeBudget {
        static SHARED: OnceLock<DecodeBudget> = OnceLock::new();
        SHARED
            .get_or_init(|| DecodeBudget::new(DEFAULT_BUDGET))
            .clone()
    }

    /// The budget's size in bytes.
    pub fn capacity(&self) -> u64 {
        self.inner.capacity
    }

    /// Bytes reserved right now by decodes in flight.
    pub fn in_use(&self) -> u64 {
        self.lock().used
    }

    /// Reserves `bytes` for one decode, waiting while earlier requests are served or the
    /// budget is spent; the reservation is given back when the returned guard drops.
    ///
    /// A request larger than the whole budget waits until nothing else is reserved, then holds
    /// the whole budget (and more) alone. A thread that already holds a reservation (a kept
    /// image) is served at once, even past the budget: it could otherwise wait for itself.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Limit`](crate::ErrorKind::Limit) ([`Limit::Memory`]) if `bytes` is more than
    /// `max_single`: the caller's
    /// per-image limit, checked here so that such a request never waits.
    pub(crate) fn reserve(&self, bytes: u64, max_single: u64) -> Result<Reservation> {
        if bytes > max_single {
            return Err(Error::limit(
                Limit::Memory,
                format!(
                    "decoding needs {bytes} bytes, more than the limit of {max_single}; raise the \
                     decode limits if the input is trusted"
                ),
            ));
        }
        let inner = &self.inner;
        let me = thread::current().id();
        let mut state = self.lock();
        let holding = state.by_thread.iter().any(|&(t, n)| t == me && n > 0);
        if !holding {
            let ticket = state.next_ticket;
            state.next_ticket += 1;
            loop {
                let fits = state.used.saturating_add(bytes) <= inner.capacity;
                // Alone, anything may run: waiting longer could not free more.
                if ticket == state.serving && (fits || state.holders == 0) {
                    break;
                }
                state = inner
                    .freed
                    .wait(state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            state.serving += 1;
        }
        state.used = state.used.saturating_add(bytes);
        state.holders += 1;
        match state.by_thread.iter_mut().find(|(t, _)| *t == me) {
            Some((_, n)) => *n += 1,
            None => state.by_thread.push((me, 1)),
        }
        drop(state);
        // The next in line may fit beside this one.
        inner.freed.notify_all();
        Ok(Reservation {
            budget: self.clone(),
            bytes,
            thread: me,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a pair of counters updated together under the lock, never left half
        // updated by a panic, so a poisoned lock is still consistent.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for DecodeBudget {
    /// [`DecodeBudget::shared`].
    fn default() -> DecodeBudget {
        DecodeBudget::shared()
    }
}

impl PartialEq for DecodeBudget {
    /// The same budget (clones of one), not merely the same capacity.
    fn eq(&self, other: &DecodeBudget) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for DecodeBudget {}

impl fmt::Debug for DecodeBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeBudget")
            .field("capacity", &self.inner.capacity)
            .field("in_use", &self.in_use())
            .finish()
    }
}

/// Bytes reserved from a [`DecodeBudget`] by one decode; given back on drop (also when the
/// decode fails or panics).
#[must_use = "the reservation is given back as soon as it is dropped"]
pub(crate) struct Reservation {
    budget: DecodeBudget,
    bytes: u64,
    thread: ThreadId,
}

impl Reservation {
    /// Makes the reservation `bytes`: smaller always; larger only when the budget has room now
    /// and no one is waiting. Returns whether the reservation is now `bytes`.
    pub(crate) fn resize_without_waiting(&mut self, bytes: u64) -> bool {
        if bytes <= self.bytes {
            self.shrink_to(bytes);
            return true;
        }
        let mut state = self.budget.lock();
        let more = bytes - self.bytes;
        let nobody_waiting = state.serving == state.next_ticket;
        if !nobody_waiting || state.used.saturating_add(more) > self.budget.inner.capacity {
            return false;
        }
        state.used += more;
        self.bytes = bytes;
        true
    }

    /// Gives back all but `bytes` of the reservation (nothing if it holds no more).
    pub(crate) fn shrink_to(&mut self, bytes: u64) {
        if bytes >= self.bytes {
            return;
        }
        let mut state = self.budget.lock();
        state.used -= self.bytes - bytes;
        self.bytes = bytes;
        drop(state);
        self.budget.inner.freed.notify_all();
    }
}

impl fmt::Debug for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation")
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut state = self.budget.lock();
        state.used -= self.bytes;
        state.holders -= 1;
        if let Some(i) = state.by_thread.iter().position(|&(t, _)| t == self.thread) {
            state.by_thread[i].1 -= 1;
            if state.by_thread[i].1 == 0 {
                state.by_thread.swap_remove(i);
            }
        }
        drop(state);
        self.budget.inner.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Barrier;

    #[test]
    fn concurrent_reservations_never_exceed_the_budget() {
        let budget = DecodeBudget::new(1000);
        // The oracle: bytes held right now, counted outside the budget.
        let held = Arc::new(AtomicU64::new(0));
        let peak = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..8u64)
            .map(|t| {
                let (budget, held, peak) = (budget.clone(), held.clone(), peak.clone());
                std::thread::spawn(move || {
                    for i in 0..200u64 {
                        let bytes = 1 + (t * 131 + i * 17) % 600;
                        let r = budget.reserve(bytes, u64::MAX).unwrap();
                        let now = held.fetch_add(bytes, Ordering::SeqCst) + bytes;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        held.fetch_sub(bytes, Ordering::SeqCst);
                        drop(r);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let peak = peak.load(Ordering::SeqCst);
        assert!(peak <= 1000, "peak {peak}");
        assert!(peak > 600, "reservations never overlapped (peak {peak})");
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn a_request_over_the_per_image_limit_errors_at_once() {
        let budget = DecodeBudget::new(100);
        let _all = budget.reserve(100, 100).unwrap();
        // The budget is spent, yet this does not wait: it could never be served.
        let err = budget.reserve(101, 100).err().unwrap();
        assert!(
            matches!(
                err.kind(),
                crate::ErrorKind::Limit {
                    which: Limit::Memory,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(budget.in_use(), 100);
    }

    #[test]
    fn a_request_larger_than_the_budget_runs_alone() {
        let budget = DecodeBudget::new(100);
        let small = budget.reserve(60, u64::MAX).unwrap();
        let barrier = Arc::new(Barrier::new(2));
        let big = {
            let (budget, barrier) = (budget.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let r = budget.reserve(500, u64::MAX).unwrap();
                let seen = budget.in_use();
                drop(r);
                seen
            })
        };
        barrier.wait();
        // The big request can only be served once the small one is given back.
        drop(small);
        assert_eq!(big.join().unwrap(), 500);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn a_reservation_is_given_back_when_its_holder_panics() {
        let budget = DecodeBudget::new(100);
        let b = budget.clone();
        let result = std::thread::spawn(move || {
            let _r = b.reserve(80, u64::MAX).unwrap();
            panic!("decoder bug");
        })
        .join();
        assert!(result.is_err());
        assert_eq!(budget.in_use(), 0);
        // And the budget still serves requests.
        let _r = budget.reserve(100, u64::MAX).unwrap();
    }

    #[test]
    fn a_thread_that_holds_a_reservation_never_waits() {
        let budget = DecodeBudget::new(100);
        let first = budget.reserve(90, u64::MAX).unwrap();
        // Waiting here would wait for this thread itself.
        let second = budget.reserve(90, u64::MAX).unwrap();
        assert_eq!(budget.in_use(), 180);
        drop(first);
        drop(second);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn growing_never_waits() {
        let budget = DecodeBudget::new(100);
        let mut r = budget.reserve(10, u64::MAX).unwrap();
        assert!(r.resize_without_waiting(60));
        assert_eq!(budget.in_use(), 60);
        let other = budget.reserve(30, u64::MAX);
        // 60 + 30 + 20 > 100: refused, not waited for.
        assert!(!r.resize_without_waiting(80));
        assert_eq!(budget.in_use(), 90);
        assert!(r.resize_without_waiting(5));
        drop(other);
        drop(r);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn shrinking_gives_bytes_back() {
        let budget = DecodeBudget::new(100);
        let mut r = budget.reserve(80, u64::MAX).unwrap();
        r.shrink_to(30);
        assert_eq!(budget.in_use(), 30);
        r.shrink_to(50);
        assert_eq!(budget.in_use(), 30);
        let b = budget.clone();
        // Another thread now fits beside it.
        std::thread::spawn(move || drop(b.reserve(70, u64::MAX).unwrap()))
            .join()
            .unwrap();
        drop(r);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn clones_share_and_compare_equal() {
        let a = DecodeBudget::new(10);
        assert_eq!(a, a.clone());
        assert_ne!(a, DecodeBudget::new(10));
        assert_eq!(DecodeBudget::shared(), DecodeBudget::default());
        assert_eq!(DecodeBudget::shared().capacity(), DEFAULT_BUDGET);
    }
}
