//! The public HTTP port's requests are measured by route template: a sequence number, a feed file or a made-up
//! path a reader asked for never becomes a label.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

#[tokio::test]
async fn public_requests_are_labelled_with_their_route_template_never_the_path() {
    let h = start().await;
    for (path, status) in [
        ("/entries/912", 404),
        ("/feeds/all.atom", 200),
        ("/log/v1/info", 200),
        ("/no-such-page-3318", 404),
    ] {
        let response = reqwest::get(format!("{}{path}", h.http)).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
    }
    let metrics = reqwest::get(format!("http://{}/metrics", h.running.admin_addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let count = |route: &str, status: u16| {
        format!(
            "http_server_request_duration_seconds_count{{http_request_method=\"GET\",http_route=\"{route}\",\
             http_response_status_code=\"{status}\"}} 1"
        )
    };
    for expected in [
        count("/entries/{sequence}", 404),
        count("/feeds/{file}", 200),
        count("/log/v1/info", 200),
        count("", 404),
    ] {
        assert!(metrics.contains(&expected), "{expected} not in {metrics}");
    }
    let routes: std::collections::BTreeSet<&str> = metrics
        .split("http_route=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert_eq!(
        routes,
        ["", "/entries/{sequence}", "/feeds/{file}", "/log/v1/info"].into(),
        "{metrics}"
    );
}
