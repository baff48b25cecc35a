//! A run's result (table rows for people, JSON for scripts, and the failures that fail it),
//! and the progress bar every scenario shows.

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

/// One run's result: table rows for people, JSON for scripts.
pub struct Report {
    /// The table: key and human-readable value, in order.
    pub rows: Vec<(String, String)>,
    /// The JSON result's fields.
    pub json: serde_json::Map<String, Value>,
    /// Why the run failed (empty: it passed).
    pub failures: Vec<String>,
}

impl Report {
    /// An empty report.
    pub fn new() -> Self {
        Report {
            rows: Vec::new(),
            json: serde_json::Map::new(),
            failures: Vec::new(),
        }
    }

    /// Adds a row and the same figure to the JSON.
    pub fn put(&mut self, key: &str, human: String, value: Value) {
        self.rows.push((key.to_owned(), human));
        self.json.insert(key.to_owned(), value);
    }

    /// Adds a latency histogram's quantiles, in ms.
    pub fn latency(&mut self, key: &str, h: &Histogram<u64>) {
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        let human = format!(
            "p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3} ms  (n={})",
            ms(0.5),
            ms(0.9),
            ms(0.99),
            ms(0.999),
            h.max() as f64 / 1000.0,
            h.len()
        );
        let value = json!({
            "count": h.len(),
            "p50_ms": ms(0.5), "p90_ms": ms(0.9), "p99_ms": ms(0.99),
            "p999_ms": ms(0.999), "max_ms": h.max() as f64 / 1000.0,
        });
        self.put(key, human, value);
    }
}

/// A progress bar with a message, a bar and the elapsed time.
pub fn progress_bar() -> ProgressBar {
    let pb = ProgressBar::new(0);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {msg:>16} [{bar:40}] {pos}/{len} {elapsed}")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb
}
