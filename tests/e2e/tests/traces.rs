//! Traces across processes: the registry and disclosure binaries export to an OTLP/HTTP receiver in this test
//! (configured as an operator would, through `PDOP_TELEMETRY__OTLP_ENDPOINT`), and one `CreateResource` must come
//! back as one trace: the registry's SERVER span, the relay's PRODUCER span and disclosure's CONSUMER span.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod support;

use std::time::Duration;

use pdop_kit::auth::Role;
use pdop_proto::common::{JurisdictionLevel, OrganizationRole};
use pdop_proto::registry::v1::registry_service_client::RegistryServiceClient;
use pdop_proto::registry::v1::{
    CreateJurisdictionRequest, CreateOrganizationRequest, CreateResourceRequest, Jurisdiction, Organization,
    Resource,
};
use pdop_testkit::{OtlpReceiver, ReceivedSpan, SpanKind, TestEnv, dev_token, wait_until};
use tonic::Request;
use tonic::transport::Channel;

const CREATE_RESOURCE: &str = "pdop.registry.v1.RegistryService/CreateResource";

fn as_role<T>(organization: &str, roles: &[Role], message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", dev_token(organization, roles).parse().unwrap());
    request
}

/// A national root, Yunnan, and a data provider there: what `CreateResource` needs to succeed.
async fn provider_in_yunnan(client: &mut RegistryServiceClient<Channel>) {
    for (id, level, parent, profile) in [
        ("china", JurisdictionLevel::National, "", "national"),
        (
            "yunnan",
            JurisdictionLevel::Province,
            "jurisdictions/china",
            "yunnan",
        ),
    ] {
        let request = CreateJurisdictionRequest {
            jurisdiction: Some(Jurisdiction {
                display_name: id.into(),
                level: level as i32,
                parent: parent.into(),
                profile_id: profile.into(),
                ..Default::default()
            }),
            jurisdiction_id: id.into(),
            request_id: String::new(),
        };
        client
            .create_jurisdiction(as_role(
                "organizations/authority",
                &[Role::DataAuthority],
                request,
            ))
            .await
            .unwrap();
    }
    let organization = Organization {
        display_name: "yn-stats".into(),
        unified_social_credit_code: "91350100M000100Y43".into(),
        roles: vec![OrganizationRole::DataProvider as i32],
        jurisdiction: "jurisdictions/yunnan".into(),
        ..Default::default()
    };
    let request = CreateOrganizationRequest {
        organization: Some(organization),
        organization_id: "yn-stats".into(),
        request_id: String::new(),
    };
    client
        .create_organization(as_role(
            "organizations/authority",
            &[Role::DataAuthority],
            request,
        ))
        .await
        .unwrap();
}

fn create_resource(display_name: &str) -> Request<CreateResourceRequest> {
    let request = CreateResourceRequest {
        resource: Some(Resource {
            display_name: display_name.into(),
            provider: "organizations/yn-stats".into(),
            jurisdiction: "jurisdictions/yunnan".into(),
            ..Default::default()
        }),
        resource_id: String::new(),
        request_id: String::new(),
    };
    as_role("organizations/yn-stats", &[Role::DataProvider], request)
}

/// Whether a disclosure CONSUMER span shares its trace with a registry `CreateResource` span.
fn reaches_disclosure(spans: &[ReceivedSpan]) -> bool {
    spans.iter().filter(|s| s.name == CREATE_RESOURCE).any(|server| {
        spans.iter().any(|s| {
            s.service == "disclosure" && s.kind == SpanKind::Consumer && s.trace_id == server.trace_id
        })
    })
}

#[tokio::test]
async fn one_create_resource_is_one_trace_from_the_registry_call_to_the_disclosure_consumer() {
    let env = TestEnv::new().await.unwrap();
    let receiver = OtlpReceiver::start().await.unwrap();
    let endpoint = receiver.endpoint();
    let exporting = [
        ("PDOP_AUTH__DEV_MODE", "true"),
        ("PDOP_AUTH__DEV_SECRET", support::DEV_SECRET),
        ("PDOP_TELEMETRY__OTLP_ENDPOINT", endpoint.as_str()),
        // sqlx logs each statement at DEBUG, inside the span of the call or event that runs it.
        ("PDOP_TELEMETRY__LOG_FILTER", "warn,sqlx::query=debug"),
        // Export within a fifth of a second rather than the default five.
        ("OTEL_BSP_SCHEDULE_DELAY", "200"),
    ];
    let (mut registry, registry_log) = support::spawn_logged("registry", &env, &exporting).await.unwrap();
    let (mut disclosure, disclosure_log) = support::spawn_logged("disclosure", &env, &exporting)
        .await
        .unwrap();
    support::wait_serving(&mut registry, "pdop.registry.v1.RegistryService").await;
    support::wait_serving(&mut disclosure, "pdop.disclosure.v1.DisclosureService").await;
    let mut client = RegistryServiceClient::new(registry.connect().await);
    provider_in_yunnan(&mut client).await;

    let refused = client.create_resource(create_resource("")).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    client
        .create_resource(create_resource("人口基础信息"))
        .await
        .unwrap();

    // The ok call is the CreateResource span whose trace reaches disclosure; wait for that.
    wait_until(
        "the CreateResource trace reaches disclosure's consumer",
        Duration::from_secs(60),
        || {
            let reached = reaches_disclosure(&receiver.spans());
            async move { reached }
        },
    )
    .await
    .unwrap_or_else(|err| panic!("{err}; spans received: {:#?}", receiver.spans()));
    let spans = receiver.spans();

    let consumer = spans
        .iter()
        .find(|s| {
            s.service == "disclosure"
                && s.kind == SpanKind::Consumer
                && spans
                    .iter()
                    .any(|o| o.name == CREATE_RESOURCE && o.trace_id == s.trace_id)
        })
        .unwrap();
    let server = spans
        .iter()
        .find(|s| s.name == CREATE_RESOURCE && s.trace_id == consumer.trace_id)
        .unwrap();
    assert_eq!(server.service, "registry");
    assert_eq!(server.kind, SpanKind::Server);
    assert_eq!(server.attribute("rpc.system"), Some("grpc"));
    assert_eq!(
        server.attribute("rpc.service"),
        Some("pdop.registry.v1.RegistryService")
    );
    assert_eq!(server.attribute("rpc.method"), Some("CreateResource"));
    assert_eq!(server.attribute("rpc.grpc.status_code"), Some("0"));

    // The relay's publish sits between them: a PRODUCER span under the call, the consumer's parent.
    let producer = spans
        .iter()
        .find(|s| s.span_id == consumer.parent_span_id)
        .unwrap();
    assert_eq!(producer.service, "registry");
    assert_eq!(producer.kind, SpanKind::Producer);
    assert_eq!(producer.trace_id, server.trace_id);
    assert_eq!(producer.attribute("messaging.system"), Some("nats"));
    let subject = producer.attribute("messaging.destination.name").unwrap();
    assert!(subject.ends_with(".registry.resource.created"), "{subject}");
    assert_eq!(consumer.name, format!("process {subject}"));
    assert_eq!(
        consumer.attribute("messaging.consumer.group.name"),
        Some("disclosure-registry")
    );

    // The refused call has its own SERVER span, with the code the handler returned.
    let refused_span = spans
        .iter()
        .find(|s| s.name == CREATE_RESOURCE && s.trace_id != server.trace_id)
        .expect("a span for the refused CreateResource");
    assert_eq!(refused_span.attribute("rpc.grpc.status_code"), Some("3"));

    // The log lines written while handling the call and the event name the spans they were written in.
    let in_span = |s: &ReceivedSpan| format!(r#""trace_id":"{}","span_id":"{}""#, s.trace_id, s.span_id);
    for (log, span, what) in [
        (&registry_log, server, "INSERT INTO resources"),
        (&disclosure_log, consumer, "INSERT INTO inbox"),
    ] {
        let ids = in_span(span);
        wait_until(
            &format!("{} logs `{what}` with {ids}", span.service),
            Duration::from_secs(10),
            || {
                let found = log
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|line| line.contains(&ids) && line.contains(what));
                async move { found }
            },
        )
        .await
        .unwrap_or_else(|err| panic!("{err}; log: {:#?}", log.lock().unwrap()));
    }
}
