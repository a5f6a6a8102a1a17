#[goro::test(threads = 4)]
async fn t() {}

fn main() {}
