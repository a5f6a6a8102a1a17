#[goro::main(leak_check = false)]
async fn main() {}
