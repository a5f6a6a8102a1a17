//! The bank-account race, ported from the seeds' race-condition lesson:
//! the balance is checked under one lock and the withdrawal made under
//! another, so two customers can both see enough money and both take it.
//!
//! Rust rejects the data race (an unlocked `balance -= n` does not
//! compile), but not this check-then-act race: each step is locked, the
//! two steps together are not. It shows up only under some interleavings,
//! which a plain run rarely produces and `go run -race` does not flag;
//! seeded scheduling with chaos (`#[goro::test(chaos = true)]`) finds one
//! and replays it by its seed. See `examples/bank_race.rs` and
//! `examples/tests/bank_race.rs`.
//!
//! # Examples
//!
//! ```
//! use goro_examples::bank::{spend, Account};
//! goro::run(async {
//!     // The fixed version never overdraws, whatever the interleaving.
//!     let left = spend(Account::new(100), 2, 80, false).await;
//!     assert_eq!(left, 20);
//! });
//! ```

use std::sync::Arc;

use goro::sync::Mutex;

/// An account whose balance is guarded by a goro `Mutex`.
#[derive(Debug)]
pub struct Account {
    balance: Mutex<i64>,
}

impl Account {
    /// An account holding `balance`.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let a = goro_examples::bank::Account::new(5);
    ///     assert_eq!(a.balance().await, 5);
    /// });
    /// ```
    pub fn new(balance: i64) -> Arc<Account> {
        Arc::new(Account {
            balance: Mutex::new(balance),
        })
    }

    /// The balance, read under the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async { assert_eq!(goro_examples::bank::Account::new(7).balance().await, 7) });
    /// ```
    pub async fn balance(&self) -> i64 {
        *self.balance.lock().await
    }

    /// The bug: checks under one lock, withdraws under another. Between
    /// the two, another customer may withdraw too.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let a = goro_examples::bank::Account::new(100);
    ///     assert!(a.withdraw_racy(80).await); // alone, it is right
    ///     assert!(!a.withdraw_racy(80).await);
    /// });
    /// ```
    pub async fn withdraw_racy(&self, amount: i64) -> bool {
        if self.balance().await >= amount {
            // Go: `if acct.Balance() >= amount { acct.Withdraw(amount) }`.
            *self.balance.lock().await -= amount;
            true
        } else {
            false
        }
    }

    /// The fix: check and withdraw under one lock.
    ///
    /// # Examples
    ///
    /// ```
    /// goro::run(async {
    ///     let a = goro_examples::bank::Account::new(100);
    ///     assert!(a.withdraw(80).await);
    ///     assert!(!a.withdraw(80).await);
    ///     assert_eq!(a.balance().await, 20);
    /// });
    /// ```
    pub async fn withdraw(&self, amount: i64) -> bool {
        let mut b = self.balance.lock().await;
        if *b >= amount {
            *b -= amount;
            true
        } else {
            false
        }
    }
}

/// `customers` goroutines each try to withdraw `amount` from `account` at
/// once (with the racy or the fixed withdrawal); returns the balance left.
///
/// # Examples
///
/// ```
/// goro::run(async {
///     let left = goro_examples::bank::spend(goro_examples::bank::Account::new(100), 3, 30, false).await;
///     assert_eq!(left, 10);
/// });
/// ```
pub async fn spend(account: Arc<Account>, customers: usize, amount: i64, racy: bool) -> i64 {
    let hs: Vec<_> = (0..customers)
        .map(|_| {
            let account = account.clone();
            goro::go(async move {
                if racy {
                    account.withdraw_racy(amount).await
                } else {
                    account.withdraw(amount).await
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
    account.balance().await
}
