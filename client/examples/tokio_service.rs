//! A tokio service using keywardd: 64 concurrent tasks sign and verify through one
//! `AsyncClient`, which never blocks a runtime thread and opens at most 4 connections.
//!
//! Run against a running keywardd:
//! `cargo run -p keyward-client --features tokio --example tokio_service`.

use keyward_client::{AsyncClient, ClientError};

const KEY: &str = "example-tokio";
const TASKS: usize = 64;
const MAX_CONNECTIONS: usize = 4;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let client = AsyncClient::builder()
        .max_connections(MAX_CONNECTIONS)
        .build_async()
        .await?;
    match client.destroy_key(KEY).await {
        Ok(()) | Err(ClientError::KeyNotFound(_)) => {}
        Err(err) => return Err(err.into()),
    }
    client.create_signing_key(KEY).await?;

    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let client = client.clone();
        tasks.spawn(async move {
            let message = format!("request {task}");
            let signature = client.sign(KEY, message.as_bytes()).await?;
            let valid = client.verify(KEY, message.as_bytes(), &signature).await?;
            Ok::<_, ClientError>((valid, client.open_connections()))
        });
    }
    let mut peak = 0;
    let mut verified = 0;
    while let Some(outcome) = tasks.join_next().await {
        let (valid, open) = outcome??;
        verified += usize::from(valid);
        peak = peak.max(open);
    }
    if verified != TASKS || peak > MAX_CONNECTIONS {
        return Err(format!("{verified} of {TASKS} verified, {peak} connections").into());
    }
    println!(
        "{TASKS} tasks signed and verified; at most {peak} of {MAX_CONNECTIONS} connections open"
    );
    client.destroy_key(KEY).await?;
    Ok(())
}
