//! The catalog: products, prices and stock behind a `goro::sync::RwMutex`
//! (Go's `sync.RWMutex`).
//!
//! Every `POST /buy` reads it to check the product exists — many handlers
//! at once, so they share a read lock; a worker takes the write lock only
//! for the moment it reserves stock.

use serde::Serialize;

/// One product on sale.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Product {
    /// Name customers order by.
    pub name: String,
    /// Price of one unit in cents.
    pub price_cents: u64,
    /// Units left.
    pub stock: u64,
}

/// The shop's products. Wrap it in `goro::sync::RwMutex` to share it.
///
/// # Examples
///
/// ```
/// use goro_examples::shop::Catalog;
///
/// let mut c = Catalog::demo();
/// let i = c.find("rust-mug").unwrap();
/// assert!(c.reserve(i, 2));
/// assert_eq!(c.find("kiwi"), None);
/// ```
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Catalog {
    /// The products, in display order.
    pub products: Vec<Product>,
}

impl Catalog {
    /// The demo's products. `limited-poster` has little stock, so a busy
    /// run shows back-orders.
    pub fn demo() -> Catalog {
        let p = |name: &str, price_cents, stock| Product {
            name: name.to_string(),
            price_cents,
            stock,
        };
        Catalog {
            products: vec![
                p("gopher-plush", 1999, 1_000_000),
                p("ferris-plush", 1999, 1_000_000),
                p("rust-mug", 1250, 1_000_000),
                p("channel-tee", 2400, 1_000_000),
                p("select-socks", 900, 1_000_000),
                p("limited-poster", 4900, 500),
            ],
        }
    }

    /// Index of the product called `name`.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.products.iter().position(|p| p.name == name)
    }

    /// Takes `qty` units of product `i` out of stock if there are enough;
    /// false (nothing taken) if not.
    pub fn reserve(&mut self, i: usize, qty: u64) -> bool {
        let p = &mut self.products[i];
        if p.stock >= qty {
            p.stock -= qty;
            true
        } else {
            false
        }
    }
}
