//! The deploy recipe in `deploy/` (no Docker here, so its files are checked, not run): the
//! Dockerfile is multi-stage and runs as an unprivileged user; the compose file has three
//! coguest nodes on one Redis with the append-only file, a replica and three Sentinels that
//! agree on it; every `COGUEST_*` variable it sets is one `coguest serve` reads; every file it
//! mounts exists; Prometheus scrapes every node; the Grafana dashboard parses, queries only
//! metrics the server exports, and shows every one of them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use support::{Endpoint, Served};
use yaml_rust2::{Yaml, YamlLoader};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn deploy(file: &str) -> PathBuf {
    repo().join("deploy").join(file)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml(file: &str) -> Yaml {
    let docs = YamlLoader::load_from_str(&read(&deploy(file)))
        .unwrap_or_else(|e| panic!("deploy/{file} is not YAML: {e}"));
    assert_eq!(docs.len(), 1, "deploy/{file}: one document");
    docs.into_iter().next().unwrap()
}

/// A mapping with its YAML merge keys (`<<: *anchor`) applied: the keys written beside `<<`
/// win, as compose reads them. yaml-rust2 resolves aliases but not merges.
fn merged(node: &Yaml) -> Yaml {
    let Yaml::Hash(map) = node else {
        return node.clone();
    };
    let mut out = yaml_rust2::yaml::Hash::new();
    let merge = Yaml::String("<<".into());
    if let Some(base) = map.get(&merge) {
        let bases = match base {
            Yaml::Array(list) => list.clone(),
            one => vec![one.clone()],
        };
        for base in &bases {
            if let Yaml::Hash(b) = merged(base) {
                out.extend(b);
            }
        }
    }
    for (k, v) in map {
        if *k != merge {
            out.insert(k.clone(), merged(v));
        }
    }
    Yaml::Hash(out)
}

fn text(node: &Yaml) -> String {
    match node {
        Yaml::String(s) | Yaml::Real(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Boolean(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// A service's `command` as words (a list, or a string split on whitespace).
fn command(service: &Yaml) -> Vec<String> {
    match &service["command"] {
        Yaml::Array(words) => words.iter().map(text).collect(),
        Yaml::String(s) => s.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// Whether `words` has `flag` followed by `value`.
fn has_flag(words: &[String], flag: &str, value: &str) -> bool {
    words.windows(2).any(|w| w[0] == flag && w[1] == value)
}

/// The compose file's services, merge keys applied.
fn services() -> BTreeMap<String, Yaml> {
    let compose = yaml("compose.yaml");
    let Yaml::Hash(services) = &compose["services"] else {
        panic!("deploy/compose.yaml has no services");
    };
    services
        .iter()
        .map(|(name, s)| (text(name), merged(s)))
        .collect()
}

/// The coguest nodes: the services built from `deploy/Dockerfile`.
fn nodes(services: &BTreeMap<String, Yaml>) -> BTreeMap<String, Yaml> {
    services
        .iter()
        .filter(|(_, s)| s["build"]["dockerfile"].as_str() == Some("deploy/Dockerfile"))
        .map(|(n, s)| (n.clone(), s.clone()))
        .collect()
}

fn env(service: &Yaml) -> BTreeMap<String, String> {
    let Yaml::Hash(vars) = &service["environment"] else {
        return BTreeMap::new();
    };
    vars.iter().map(|(k, v)| (text(k), text(v))).collect()
}

#[test]
fn the_dockerfile_builds_in_one_stage_and_runs_the_binary_unprivileged_in_another() {
    let dockerfile = read(&deploy("Dockerfile"));
    let lines: Vec<&str> = dockerfile
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let stages: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("FROM "))
        .collect();
    assert!(stages.len() >= 2, "multi-stage: {stages:?}");
    let build = lines[stages[0]];
    assert!(
        build.contains("rust:") && build.ends_with(" AS build"),
        "{build}"
    );
    assert!(
        dockerfile.contains("cargo build --release --locked -p coguest-cli"),
        "the build stage builds the coguest binary"
    );

    let last = *stages.last().unwrap();
    let runtime = &lines[last..];
    assert!(
        runtime[0].contains("-slim") && !runtime[0].contains("rust"),
        "a small runtime image without the toolchain: {}",
        runtime[0]
    );
    assert!(
        runtime
            .iter()
            .any(|l| l.starts_with("COPY --from=build") && l.contains("/coguest ")),
        "the runtime stage copies only the binary from the build"
    );
    let users: Vec<&str> = runtime
        .iter()
        .filter_map(|l| l.strip_prefix("USER "))
        .collect();
    let user = users.last().expect("the runtime stage sets a USER");
    let name = user.split(':').next().unwrap();
    assert!(
        !["root", "0"].contains(&name),
        "the runtime stage runs as root: USER {user}"
    );
    assert!(
        runtime.contains(&r#"ENTRYPOINT ["coguest"]"#),
        "{runtime:?}"
    );
    let known = serve_env();
    for var in env_vars(&dockerfile) {
        assert!(
            known.contains(&var),
            "{var} is not a `coguest serve` variable"
        );
    }
    assert!(
        dockerfile.contains("COGUEST_LISTEN=0.0.0.0:"),
        "listens beyond the container's loopback"
    );
}

#[test]
fn the_build_context_holds_the_workspace_and_no_local_build() {
    // `docker build -f deploy/Dockerfile .` reads deploy/Dockerfile.dockerignore: everything
    // is left out but what the build reads.
    let ignore = read(&deploy("Dockerfile.dockerignore"));
    let rules: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(rules.first(), Some(&"*"), "everything is left out first");
    for kept in ["Cargo.toml", "Cargo.lock", "crates"] {
        assert!(
            rules.contains(&format!("!{kept}").as_str()),
            "{kept} is in the context"
        );
        assert!(repo().join(kept).exists(), "{kept} exists");
    }
    assert!(rules.contains(&"crates/*/target"), "no crate's local build");
    let manifest = read(&repo().join("Cargo.toml"));
    assert!(
        manifest.contains(r#"members = ["crates/*"]"#),
        "every workspace member is under crates/ (the only directory in the context)"
    );
}

#[test]
fn compose_runs_three_nodes_on_redis_with_aof_a_replica_and_three_sentinels() {
    let services = services();
    let nodes = nodes(&services);
    assert_eq!(nodes.len(), 3, "three coguest nodes: {:?}", nodes.keys());

    // Redis: the primary keeps an append-only file synced at least every second; the replica
    // follows it and keeps one too.
    let primary = services
        .iter()
        .find(|(_, s)| {
            let c = command(s);
            c.first().map(String::as_str) == Some("redis-server")
                && !c.iter().any(|w| w == "--replicaof")
        })
        .map(|(n, _)| n.clone())
        .expect("a Redis primary");
    let words = command(&services[&primary]);
    assert!(has_flag(&words, "--appendonly", "yes"), "{words:?}");
    assert!(
        has_flag(&words, "--appendfsync", "everysec")
            || has_flag(&words, "--appendfsync", "always"),
        "{words:?}"
    );
    let replicas: Vec<&String> = services
        .iter()
        .filter(|(_, s)| command(s).iter().any(|w| w == "--replicaof"))
        .map(|(n, _)| n)
        .collect();
    assert_eq!(replicas.len(), 1, "{replicas:?}");
    let words = command(&services[replicas[0]]);
    assert!(has_flag(&words, "--replicaof", &primary), "{words:?}");
    assert!(has_flag(&words, "--appendonly", "yes"), "{words:?}");

    // Three Sentinels, each started from deploy/sentinel.conf, watching the primary with a
    // majority quorum.
    let sentinels: Vec<&Yaml> = services
        .values()
        .filter(|s| command(s).join(" ").contains("redis-sentinel"))
        .collect();
    assert_eq!(sentinels.len(), 3, "three sentinels");
    for s in &sentinels {
        let mounts: Vec<String> = s["volumes"].as_vec().unwrap().iter().map(text).collect();
        assert!(
            mounts.iter().any(|m| m.starts_with("./sentinel.conf:")),
            "{mounts:?}"
        );
    }
    let conf = read(&deploy("sentinel.conf"));
    let monitor: Vec<&str> = conf
        .lines()
        .find_map(|l| l.trim().strip_prefix("sentinel monitor "))
        .expect("sentinel monitor")
        .split_whitespace()
        .collect();
    assert_eq!(monitor[1..3], [primary.as_str(), "6379"], "{monitor:?}");
    let quorum: usize = monitor[3].parse().unwrap();
    assert!(
        quorum > sentinels.len() / 2 && quorum <= sentinels.len(),
        "quorum {quorum}"
    );

    // The nodes: the primary the Sentinels name (so they follow a failover), distinct ids and
    // ports, only variables `coguest serve` reads.
    let sentinel_hosts: Vec<String> = services
        .iter()
        .filter(|(_, s)| command(s).join(" ").contains("redis-sentinel"))
        .map(|(n, _)| format!("{n}:26379"))
        .collect();
    assert!(conf.lines().any(|l| l.trim() == "port 26379"), "{conf}");
    let redis_url = format!(
        "redis+sentinel://{}/{}",
        sentinel_hosts.join(","),
        monitor[0]
    );
    let known = serve_env();
    let mut ids = BTreeSet::new();
    let mut ports = BTreeSet::new();
    for (name, node) in &nodes {
        let vars = env(node);
        assert_eq!(
            vars.get("COGUEST_REDIS").map(String::as_str),
            Some(redis_url.as_str()),
            "{name}"
        );
        assert!(
            ids.insert(vars["COGUEST_NODE_ID"].clone()),
            "{name}: node id"
        );
        assert!(
            vars["COGUEST_LISTEN"].starts_with("0.0.0.0:"),
            "{name} listens beyond its loopback"
        );
        assert!(
            vars["COGUEST_SECRET"].starts_with("${COGUEST_SECRET"),
            "{name}: the secret comes from the environment"
        );
        for var in vars.keys().filter(|v| v.starts_with("COGUEST_")) {
            assert!(
                known.contains(var),
                "{name}: {var} is not a `coguest serve` variable"
            );
        }
        let published = text(&node["ports"][0]);
        assert!(ports.insert(published.clone()), "{name}: port {published}");
        let depends = &node["depends_on"][primary.as_str()]["condition"];
        assert_eq!(depends.as_str(), Some("service_healthy"), "{name}");
    }

    // Every file mounted from beside the compose file exists.
    for (name, s) in &services {
        for mount in s["volumes"].as_vec().into_iter().flatten().map(text) {
            if let Some(local) = mount.strip_prefix("./") {
                let file = local.split(':').next().unwrap();
                assert!(deploy(file).exists(), "{name} mounts a missing {file}");
            }
        }
    }
}

#[test]
fn prometheus_scrapes_every_node_and_grafana_loads_the_dashboard() {
    let services = services();
    let nodes = nodes(&services);
    let prometheus = yaml("prometheus.yml");
    let targets: BTreeSet<String> = prometheus["scrape_configs"][0]["static_configs"][0]["targets"]
        .as_vec()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    let listens: BTreeSet<String> = nodes
        .iter()
        .map(|(name, node)| {
            let port = env(node)["COGUEST_LISTEN"]
                .rsplit(':')
                .next()
                .unwrap()
                .to_owned();
            format!("{name}:{port}")
        })
        .collect();
    assert_eq!(targets, listens);

    let datasources = yaml("grafana/datasources.yaml");
    assert_eq!(
        datasources["datasources"][0]["type"].as_str(),
        Some("prometheus")
    );
    let providers = yaml("grafana/dashboards.yaml");
    let path = providers["providers"][0]["options"]["path"]
        .as_str()
        .unwrap();
    let mounts: Vec<String> = services["grafana"]["volumes"]
        .as_vec()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    assert!(
        mounts
            .iter()
            .any(|m| m.starts_with("./grafana/coguest-dashboard.json:")
                && m.contains(&format!(":{path}/"))),
        "the dashboard is mounted where the provider looks ({path}): {mounts:?}"
    );
}

#[tokio::test]
async fn the_dashboard_shows_every_metric_the_server_exports_and_no_other() {
    let exported = exported_metrics().await;
    let dashboard: serde_json::Value =
        serde_json::from_str(&read(&deploy("grafana/coguest-dashboard.json")))
            .expect("the dashboard is JSON");
    assert!(dashboard["title"].is_string() && dashboard["uid"].is_string());
    let panels = dashboard["panels"].as_array().expect("panels");
    let mut queried = BTreeSet::new();
    for panel in panels.iter().filter(|p| p["type"] != "row") {
        let title = panel["title"].as_str().unwrap();
        assert!(panel["datasource"].is_object(), "{title}: a data source");
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{title}: no query");
        for target in targets {
            let expr = target["expr"].as_str().unwrap();
            for name in metric_names(expr) {
                assert!(
                    exported.series.contains(&name),
                    "{title}: {name} is not exported by the server (exported: {:?})",
                    exported.series
                );
                queried.insert(exported.family_of(&name));
            }
        }
    }
    let missing: Vec<&String> = exported
        .families
        .keys()
        .filter(|f| !queried.contains(*f))
        .collect();
    assert!(
        missing.is_empty(),
        "metrics on /metrics that deploy/grafana/coguest-dashboard.json does not show: {missing:?} \
         (add a panel for each)"
    );
}

/// The `coguest_*` names in a PromQL expression.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("coguest_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

/// What `/metrics` exports: each family (`coguest_commands`) with its kind, and every series
/// name that can be queried (`coguest_commands_total`, `coguest_x_seconds_bucket`, ...).
struct Exported {
    families: BTreeMap<String, String>,
    series: BTreeSet<String>,
}

impl Exported {
    fn family_of(&self, series: &str) -> String {
        self.families
            .keys()
            .filter(|f| series.starts_with(f.as_str()))
            .max_by_key(|f| f.len())
            .cloned()
            .unwrap()
    }
}

/// The metrics registered in `coguest-server/src/metrics.rs` (labelled families appear on
/// `/metrics` only once used, so the source lists them), checked against a real server's
/// `/metrics`: every family it shows is in the list, with the same kind.
async fn exported_metrics() -> Exported {
    let source = read(&repo().join("crates/coguest-server/src/metrics.rs"));
    let mut families = BTreeMap::new();
    for call in source.split("registry.register(").skip(1) {
        let call = &call[..call.find(");").unwrap()];
        let name = call.split('"').nth(1).unwrap();
        let var = call
            .rsplit(".clone()")
            .nth(1)
            .unwrap()
            .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap();
        // `let var = ...;` or `let var: Type = ...;`
        let decl = source
            .split(&format!("let {var}"))
            .skip(1)
            .find(|rest| rest.starts_with([' ', ':']))
            .unwrap_or_else(|| panic!("no `let {var}` in metrics.rs"));
        let decl = &decl[..decl.find(';').unwrap()];
        let kind = if decl.contains("Histogram") {
            "histogram"
        } else if decl.contains("Counter") {
            "counter"
        } else if decl.contains("Gauge") {
            "gauge"
        } else {
            panic!("metrics.rs: the kind of {var} ({decl})")
        };
        families.insert(format!("coguest_{name}"), kind.to_owned());
    }
    assert!(families.len() >= 20, "{families:?}");

    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(dir.path()).await;
    let (status, body) = server.http("GET", "/metrics", None, "").await;
    assert_eq!(status, 200);
    let shown: Vec<(&str, &str)> = body
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .collect();
    assert!(!shown.is_empty(), "{body}");
    for (family, kind) in shown {
        assert_eq!(
            families.get(family).map(String::as_str),
            Some(kind),
            "{family} ({kind}) on /metrics, not as read from metrics.rs"
        );
    }

    let series = families
        .iter()
        .flat_map(|(f, kind)| match kind.as_str() {
            "counter" => vec![format!("{f}_total")],
            "histogram" => ["bucket", "sum", "count"]
                .map(|s| format!("{f}_{s}"))
                .to_vec(),
            _ => vec![f.clone()],
        })
        .collect();
    Exported { families, series }
}

/// The `COGUEST_*` variables in a file's text.
fn env_vars(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("COGUEST_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        found.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    found
}

/// The environment variables `coguest serve` reads, from its `--help` (`[env: COGUEST_X=]`).
fn serve_env() -> BTreeSet<String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_coguest"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let vars: BTreeSet<String> = help
        .split("[env: ")
        .skip(1)
        .filter_map(|s| s.split(['=', ']']).next())
        .map(str::to_owned)
        .collect();
    assert!(vars.contains("COGUEST_LISTEN"), "{help}");
    vars
}

#[test]
fn the_readme_links_every_deploy_file() {
    let readme = read(&repo().join("README.md"));
    for file in [
        "Dockerfile",
        "Dockerfile.dockerignore",
        "compose.yaml",
        "sentinel.conf",
        "prometheus.yml",
        "grafana/coguest-dashboard.json",
    ] {
        assert!(deploy(file).exists(), "deploy/{file}");
        assert!(
            readme.contains(&format!("(deploy/{file})")),
            "README.md links deploy/{file}"
        );
    }
}
