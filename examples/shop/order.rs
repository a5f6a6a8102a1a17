//! What a customer sends to `POST /buy`, and how the shop checks it before
//! it queues anything.
//!
//! In Go this is a struct with json tags and `json.NewDecoder(r.Body).Decode`;
//! here it is a struct with serde's derive and `serde_json::from_slice`.

use serde::Deserialize;

/// The largest quantity one order may ask for.
pub const MAX_QTY: i64 = 100;

/// The JSON body of `POST /buy`, as it arrives:
/// `{"product": "gopher-plush", "qty": 2, "customer": 17}`.
///
/// `qty` is signed so that `-3` is read and refused with a clear message
/// ("qty must be at least 1") rather than a type error.
///
/// # Examples
///
/// ```
/// use goro_examples::shop::OrderRequest;
///
/// let req = OrderRequest::parse(br#"{"product":"rust-mug","qty":2,"customer":7}"#).unwrap();
/// assert_eq!(req.qty, 2);
/// assert!(OrderRequest::parse(b"{not json").is_err());
/// ```
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct OrderRequest {
    /// A product name from the catalog, e.g. `"gopher-plush"`.
    pub product: String,
    /// How many units; 1 ..= [`MAX_QTY`].
    pub qty: i64,
    /// Who is buying: a customer number.
    pub customer: u64,
}

impl OrderRequest {
    /// Decodes a request body. The error is the message the `400` carries.
    pub fn parse(body: &[u8]) -> Result<OrderRequest, String> {
        let req: OrderRequest =
            serde_json::from_slice(body).map_err(|e| format!("malformed JSON: {e}"))?;
        if req.qty < 1 {
            return Err(format!("qty must be at least 1, got {}", req.qty));
        }
        if req.qty > MAX_QTY {
            return Err(format!("qty must be at most {MAX_QTY}, got {}", req.qty));
        }
        Ok(req)
    }
}

/// An accepted order, as it travels through the queue to a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    /// Number given at acceptance (1, 2, 3, ...), returned in the `202`.
    pub id: u64,
    /// Index of the product in the catalog.
    pub product: usize,
    /// Units, 1 ..= [`MAX_QTY`].
    pub qty: u32,
    /// The customer number.
    pub customer: u64,
}
