//! `select!` accepts every arm shape: blocks with and without a trailing
//! comma, expressions, patterns or none, and `default` anywhere.

#[test]
fn block_bodies_with_and_without_commas() {
    let (tx, rx) = goro::chan::<u32>(1);
    tx.try_send(1).unwrap();
    let mut got = 0;
    goro::select_blocking! {
        recv(rx) -> v => { got = v.unwrap(); },
        default => {},
    }
    assert_eq!(got, 1);
    goro::select_blocking! {
        recv(rx) -> v => { got = v.unwrap_or(9); }
        default => { got = 2; }
    }
    assert_eq!(got, 2);
    goro::select_blocking! {
        send(tx, 5) -> r => { r.unwrap(); },
        recv(rx) => {},
    }
    let v = goro::select_blocking! {
        recv(rx) -> v => v.unwrap(),
        default => 0,
    };
    assert_eq!(v, 5);
    let r = goro::select_blocking! {
        default => 7,
        recv(rx) => 8,
    };
    assert_eq!(r, 7);
}
