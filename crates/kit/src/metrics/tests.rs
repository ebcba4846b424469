use super::*;

fn descriptor_set() -> Vec<u8> {
    use prost::Message;
    let method = prost_types::MethodDescriptorProto {
        name: Some("GetResource".to_owned()),
        ..Default::default()
    };
    let service = prost_types::ServiceDescriptorProto {
        name: Some("RegistryService".to_owned()),
        method: vec![method],
        ..Default::default()
    };
    prost_types::FileDescriptorSet {
        file: vec![prost_types::FileDescriptorProto {
            package: Some("pdop.registry.v1".to_owned()),
            service: vec![service],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

#[test]
fn rpc_calls_are_a_seconds_histogram_labelled_by_service_method_and_numeric_code() {
    let metrics = Metrics::new().with_grpc_methods(&descriptor_set()).unwrap();
    let path = "/pdop.registry.v1.RegistryService/GetResource";
    metrics.observe_grpc(path, tonic::Code::Ok, 0.002);
    metrics.observe_grpc(path, tonic::Code::NotFound, 0.001);
    let text = metrics.render();
    assert!(
        text.contains("# TYPE rpc_server_call_duration_seconds histogram"),
        "{text}"
    );
    assert!(
        text.contains("# UNIT rpc_server_call_duration_seconds seconds"),
        "{text}"
    );
    let labels =
        "rpc_system=\"grpc\",rpc_service=\"pdop.registry.v1.RegistryService\",rpc_method=\"GetResource\"";
    assert!(
        text.contains(&format!(
            "rpc_server_call_duration_seconds_count{{{labels},rpc_grpc_status_code=\"0\"}} 1"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "rpc_server_call_duration_seconds_count{{{labels},rpc_grpc_status_code=\"5\"}} 1"
        )),
        "{text}"
    );
}

#[test]
fn a_path_the_server_does_not_serve_is_other_and_never_a_label() {
    let metrics = Metrics::new().with_grpc_methods(&descriptor_set()).unwrap();
    metrics.observe_grpc(
        "/pdop.registry.v1.RegistryService/x-1234",
        tonic::Code::Unimplemented,
        0.001,
    );
    metrics.observe_grpc("/grpc.health.v1.Health/Check", tonic::Code::Ok, 0.001);
    let text = metrics.render();
    assert!(!text.contains("x-1234"), "{text}");
    assert!(
        text.contains("rpc_service=\"_OTHER\",rpc_method=\"_OTHER\",rpc_grpc_status_code=\"12\""),
        "{text}"
    );
    assert!(
        text.contains("rpc_service=\"grpc.health.v1.Health\",rpc_method=\"Check\""),
        "{text}"
    );
}

#[test]
fn no_series_carries_a_label_the_prometheus_operator_sets() {
    let metrics = Metrics::new();
    metrics.observe_grpc("/grpc.health.v1.Health/Check", tonic::Code::Ok, 0.001);
    metrics.observe_consumed(
        "disclosure-registry",
        "pdop.registry.resource.created",
        Outcome::applied,
    );
    metrics
        .sent_messages
        .get_or_create(&SentLabels::new("pdop.registry.resource.created"))
        .inc();
    metrics
        .process_duration
        .get_or_create(&ProcessLabels::new(
            "disclosure-registry",
            "pdop.registry.resource.created",
        ))
        .observe(0.01);
    let group = ConsumerGroupLabels::new("disclosure-registry", "pdop.registry.>");
    metrics.consumer_lag.get_or_create(&group).set(2);
    metrics.dead_letters.get_or_create(&group).set(1);
    metrics.outbox_backlog.set(3);
    let text = metrics.render();
    assert_eq!(
        pdop_testkit::clashing_labels(&text),
        Vec::<String>::new(),
        "{text}"
    );
    let names = pdop_testkit::label_names(&text);
    assert!(names.contains("messaging_consumer_group_name"), "{names:?}");
    assert!(text.contains("\npdop_outbox_backlog 3\n"), "{text}");
    assert!(
        text.contains(
            "messaging_client_consumed_messages_total{messaging_system=\"nats\",messaging_operation_name=\"process\",\
             messaging_destination_name=\"pdop.registry.resource.created\",\
             messaging_consumer_group_name=\"disclosure-registry\",pdop_outcome=\"applied\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("messaging_client_sent_messages_total{messaging_system=\"nats\",messaging_operation_name=\"send\",messaging_destination_name=\"pdop.registry.resource.created\"} 1"), "{text}");
    assert!(
        text.contains("# UNIT messaging_process_duration_seconds seconds"),
        "{text}"
    );
    assert!(text.contains("pdop_consumer_lag{messaging_system=\"nats\",messaging_destination_name=\"pdop.registry.>\",messaging_consumer_group_name=\"disclosure-registry\"} 2"), "{text}");
    assert!(text.contains("pdop_dead_letters{messaging_system=\"nats\",messaging_destination_name=\"pdop.registry.>\",messaging_consumer_group_name=\"disclosure-registry\"} 1"), "{text}");
}

#[test]
fn every_family_is_declared_before_its_first_series() {
    let text = Metrics::new().render();
    for declared in [
        "# TYPE rpc_server_call_duration_seconds histogram",
        "# TYPE http_server_request_duration_seconds histogram",
        "# TYPE messaging_client_sent_messages counter",
        "# TYPE messaging_client_consumed_messages counter",
        "# TYPE messaging_process_duration_seconds histogram",
        "# UNIT messaging_process_duration_seconds seconds",
        "# TYPE pdop_outbox_backlog gauge",
        "# TYPE pdop_consumer_lag gauge",
        "# TYPE pdop_dead_letters gauge",
    ] {
        assert!(text.contains(declared), "{declared} in {text}");
    }
    assert!(text.ends_with("# EOF\n"), "{text}");
}
