//! `/metrics`: Prometheus (OpenMetrics) text. Labels are route templates, status codes and
//! list names, never query strings, so no hash value can reach a series.

use std::sync::atomic::AtomicU64;
use std::time::SystemTime;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::state::{unix_seconds, Snapshot};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ListLabels {
    list: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// The server's metrics.
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<EndpointLabels, Histogram, fn() -> Histogram>,
    matches: Family<ListLabels, Counter>,
    list_age: Family<ListLabels, FloatGauge>,
    list_loaded: Family<ListLabels, FloatGauge>,
    list_hashes: Family<ListLabels, Gauge>,
    shed: Counter,
    reloads: Family<ResultLabels, Counter>,
}

fn latency_histogram() -> Histogram {
    // 50 µs .. ~1.6 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::with_prefix("hashsieve");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<EndpointLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let matches = Family::<ListLabels, Counter>::default();
        let list_age = Family::<ListLabels, FloatGauge>::default();
        let list_loaded = Family::<ListLabels, FloatGauge>::default();
        let list_hashes = Family::<ListLabels, Gauge>::default();
        let shed = Counter::default();
        let reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request, by route",
            latency.clone(),
        );
        registry.register("matches", "Matches reported, by list", matches.clone());
        registry.register(
            "list_age_seconds",
            "Seconds since the served list was created (its header's time)",
            list_age.clone(),
        );
        registry.register(
            "list_loaded_timestamp_seconds",
            "When the served list was loaded (seconds since the epoch)",
            list_loaded.clone(),
        );
        registry.register(
            "list_hashes",
            "Distinct hashes in the served list",
            list_hashes.clone(),
        );
        registry.register(
            "overload_rejections",
            "Requests answered 503 at the concurrency limit",
            shed.clone(),
        );
        registry.register(
            "reloads",
            "List reloads by result (reloaded, refused)",
            reloads.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            matches,
            list_age,
            list_loaded,
            list_hashes,
            shed,
            reloads,
        }
    }

    /// Counts one answered request.
    pub(crate) fn request(&self, endpoint: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                endpoint: endpoint.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&EndpointLabels {
                endpoint: endpoint.to_owned(),
            })
            .observe(seconds);
    }

    /// Counts matches reported from `list`.
    pub(crate) fn matched(&self, list: &str, n: u64) {
        self.matches
            .get_or_create(&ListLabels {
                list: list.to_owned(),
            })
            .inc_by(n);
    }

    /// Counts a request refused at the concurrency limit.
    pub(crate) fn shed(&self) {
        self.shed.inc();
    }

    /// Counts reloads.
    pub(crate) fn reloaded(&self, reloaded: usize, refused: usize) {
        for (result, n) in [("reloaded", reloaded), ("refused", refused)] {
            if n > 0 {
                self.reloads
                    .get_or_create(&ResultLabels {
                        result: result.to_owned(),
                    })
                    .inc_by(n as u64);
            }
        }
    }

    /// The text exposition, with the list gauges set from `snap`.
    pub(crate) fn render(&self, snap: &Snapshot) -> String {
        let now = unix_seconds(SystemTime::now());
        for bank in &snap.banks {
            let labels = ListLabels {
                list: bank.list.info.name.clone(),
            };
            self.list_age
                .get_or_create(&labels)
                .set((now - bank.created as f64).max(0.0));
            self.list_loaded
                .get_or_create(&labels)
                .set(unix_seconds(bank.loaded_at));
            self.list_hashes
                .get_or_create(&labels)
                .set(i64::try_from(bank.list.info.len).unwrap_or(i64::MAX));
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
