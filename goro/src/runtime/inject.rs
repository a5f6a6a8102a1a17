//! The global run queue (Go's `sched.runq`): tasks spawned or woken from
//! outside the workers, and overflow from full local queues.
//!
//! A mutex-protected deque with an atomic length, so that the frequent
//! "is there anything?" check takes no lock. Once closed (runtime
//! shutdown), pushes drop the task's reference instead of queueing it.

use std::collections::VecDeque;

use crate::{
    loom::{
        atomic::{AtomicUsize, Ordering::*},
        lock, Mutex,
    },
    task::Notified,
};

pub(crate) struct Inject {
    queue: Mutex<Queue>,
    len: AtomicUsize,
}

struct Queue {
    tasks: VecDeque<Notified>,
    closed: bool,
}

impl Inject {
    pub(crate) fn new() -> Inject {
        Inject {
            queue: Mutex::new(Queue {
                tasks: VecDeque::new(),
                closed: false,
            }),
            len: AtomicUsize::new(0),
        }
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len.load(Acquire) == 0
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Acquire)
    }

    /// Queues one task. False (the task dropped) when closed.
    pub(crate) fn push(&self, task: Notified) -> bool {
        let mut q = lock(&self.queue);
        if q.closed {
            drop(q);
            drop(task);
            return false;
        }
        q.tasks.push_back(task);
        self.len.store(q.tasks.len(), Release);
        true
    }

    /// Queues a batch in order.
    pub(crate) fn push_batch(&self, tasks: impl IntoIterator<Item = Notified>) {
        let mut q = lock(&self.queue);
        if q.closed {
            drop(q);
            return;
        }
        q.tasks.extend(tasks);
        self.len.store(q.tasks.len(), Release);
    }

    /// Takes up to `max` tasks: the first is returned, the rest handed to
    /// `rest` in order.
    pub(crate) fn pop_batch(&self, max: usize, mut rest: impl FnMut(Notified)) -> Option<Notified> {
        if self.is_empty() {
            return None;
        }
        let mut q = lock(&self.queue);
        let first = q.tasks.pop_front()?;
        let n = max.saturating_sub(1).min(q.tasks.len());
        for t in q.tasks.drain(..n) {
            rest(t);
        }
        self.len.store(q.tasks.len(), Release);
        Some(first)
    }

    /// Closes the queue and returns what was in it.
    pub(crate) fn close(&self) -> VecDeque<Notified> {
        let mut q = lock(&self.queue);
        q.closed = true;
        self.len.store(0, Release);
        std::mem::take(&mut q.tasks)
    }
}
