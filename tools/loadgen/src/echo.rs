//! The gRPC baseline: a bare tonic server whose one unary RPC returns its input (no auth, metrics or tracing
//! layers), on the same transport settings as the services.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use crate::load::CallFn;

pub mod pb {
    tonic::include_proto!("pdop.bench.v1");
}

use pb::echo_service_client::EchoServiceClient;
use pb::echo_service_server::{EchoService, EchoServiceServer};
use pb::{EchoRequest, EchoResponse};

struct Echo;

#[tonic::async_trait]
impl EchoService for Echo {
    async fn echo(&self, request: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(EchoResponse {
            payload: request.into_inner().payload,
        }))
    }
}

/// Serves the echo service on `addr` until the process ends; prints the bound address on stderr.
pub async fn serve(addr: SocketAddr) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    eprintln!("echo server on {}", listener.local_addr()?);
    // Same as the services' listener: small unary replies must not wait for Nagle.
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .add_service(EchoServiceServer::new(Echo))
        .serve_with_incoming(incoming)
        .await?;
    Ok(())
}

/// Bytes each echo call carries: about the size of the pdop requests and answers it stands for.
pub const PAYLOAD_BYTES: usize = 512;

/// Echo calls carrying `payload_bytes` bytes, spread over `channels`.
pub fn calls(channels: Vec<Channel>, payload_bytes: usize) -> CallFn {
    let clients: Arc<Vec<EchoServiceClient<Channel>>> =
        Arc::new(channels.into_iter().map(EchoServiceClient::new).collect());
    let payload = bytes::Bytes::from(vec![b'x'; payload_bytes]);
    Arc::new(move |n| {
        let mut client = clients[n as usize % clients.len()].clone();
        let payload = payload.to_vec();
        Box::pin(async move {
            client
                .echo(EchoRequest { payload })
                .await
                .map(|_| ())
                .map_err(|s| s.code())
        })
    })
}
