//! What the generators need from the descriptor set `protoc` wrote: leading comments (kept because prost-build
//! passes `--include_source_info`) and the Rust path prost-build gives each message.

use std::collections::HashMap;

use heck::{ToSnakeCase, ToUpperCamelCase};
use prost_types::{DescriptorProto, FileDescriptorProto, FileDescriptorSet};

/// One message of the set, nested ones included, with what the generators read about it.
pub struct Message<'a> {
    /// Protobuf full name without the leading dot, e.g. `pdop.registry.v1.Resource`.
    pub full_name: String,
    pub package: &'a str,
    /// Its leading comment, empty when it has none.
    pub comment: String,
    /// Leading comment of each field, by field index.
    pub field_comments: Vec<String>,
    /// Rust path of the generated type, e.g. `crate::pdop::registry::v1::Resource`.
    pub rust_path: String,
    /// Rust path of the module holding its nested types and oneof enums, e.g. `crate::pdop::registry::v1::resource`.
    pub rust_module: String,
    /// True when it is declared at file level (not nested in another message).
    pub top_level: bool,
    /// True for the entry type protoc makes for a `map<K, V>` field (generated as a `HashMap`, not as a type).
    pub map_entry: bool,
    pub descriptor: &'a DescriptorProto,
}

/// Every message of every file of the set, in file and declaration order.
pub fn messages(set: &FileDescriptorSet) -> Vec<Message<'_>> {
    let mut out = Vec::new();
    for file in &set.file {
        let comments = leading_comments(file);
        let package = file.package();
        let module = package_module(package);
        for (i, message) in file.message_type.iter().enumerate() {
            walk(
                package,
                &module,
                package,
                message,
                vec![4, i as i32],
                &comments,
                true,
                &mut out,
            );
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn walk<'a>(
    package: &'a str,
    module: &str,
    scope: &str,
    message: &'a DescriptorProto,
    path: Vec<i32>,
    comments: &HashMap<Vec<i32>, String>,
    top_level: bool,
    out: &mut Vec<Message<'a>>,
) {
    let full_name = format!("{scope}.{}", message.name());
    let rust_path = format!("{module}::{}", sanitize(&message.name().to_upper_camel_case()));
    let rust_module = format!("{module}::{}", sanitize(&message.name().to_snake_case()));
    let field_comments = (0..message.field.len())
        .map(|k| {
            let mut p = path.clone();
            p.extend([2, k as i32]);
            comments.get(&p).cloned().unwrap_or_default()
        })
        .collect();
    out.push(Message {
        full_name: full_name.clone(),
        package,
        comment: comments.get(&path).cloned().unwrap_or_default(),
        field_comments,
        rust_path,
        rust_module: rust_module.clone(),
        top_level,
        map_entry: message.options.as_ref().is_some_and(|o| o.map_entry()),
        descriptor: message,
    });
    for (j, nested) in message.nested_type.iter().enumerate() {
        let mut p = path.clone();
        p.extend([3, j as i32]);
        walk(package, &rust_module, &full_name, nested, p, comments, false, out);
    }
}

/// The Rust module of a package: `pdop.registry.v1` → `crate::pdop::registry::v1` (the module tree of `lib.rs`);
/// the well-known types come from `prost_types`.
pub fn package_module(package: &str) -> String {
    if package == "google.protobuf" {
        return "::prost_types".to_owned();
    }
    let parts: Vec<String> = package.split('.').map(|p| sanitize(&p.to_snake_case())).collect();
    format!("crate::{}", parts.join("::"))
}

fn leading_comments(file: &FileDescriptorProto) -> HashMap<Vec<i32>, String> {
    let Some(info) = &file.source_code_info else {
        return HashMap::new();
    };
    info.location
        .iter()
        .filter_map(|l| l.leading_comments.as_ref().map(|c| (l.path.clone(), c.clone())))
        .collect()
}

/// prost-build's identifier rule: keywords become raw identifiers, a few get a trailing underscore.
pub fn sanitize(ident: &str) -> String {
    match ident {
        "as" | "break" | "const" | "continue" | "else" | "enum" | "false" | "fn" | "for" | "if" | "impl"
        | "in" | "let" | "loop" | "match" | "mod" | "move" | "mut" | "pub" | "ref" | "return" | "static"
        | "struct" | "trait" | "true" | "type" | "unsafe" | "use" | "where" | "while" | "dyn"
        | "abstract" | "become" | "box" | "do" | "final" | "macro" | "override" | "priv" | "typeof"
        | "unsized" | "virtual" | "yield" | "async" | "await" | "try" | "gen" => format!("r#{ident}"),
        "_" | "super" | "self" | "Self" | "extern" | "crate" => format!("{ident}_"),
        s if s.starts_with(|c: char| c.is_numeric()) => format!("_{ident}"),
        _ => ident.to_owned(),
    }
}
