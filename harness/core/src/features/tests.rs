//! The feature store's rules, pinned with constant latencies and one-record
//! groups so every count and age is exact.

use std::time::Duration;

use super::*;
use crate::dist::ServiceDist;

const MS: u64 = 1_000_000;
const S: u64 = 1_000_000_000;

fn group(name: &str, latency_ms: f64, refresh_s: Option<u64>) -> FeatureGroupSpec {
    FeatureGroupSpec {
        refresh: refresh_s.map(Duration::from_secs),
        ..FeatureGroupSpec::new(
            name,
            1,
            ServiceDist::constant(latency_ms / 1e3).unwrap(),
            vec![FeatureDef {
                name: "purchase_count_30d".into(),
                default: "0".into(),
            }],
        )
    }
}

fn uses(groups: Vec<u16>, on_failure: OnFailure, ttl_s: u64, then: OnFailure) -> FeatureUseSpec {
    FeatureUseSpec {
        endpoint: 0,
        groups,
        timeout: Duration::from_millis(50),
        on_failure,
        cache_ttl: Duration::from_secs(ttl_s),
        then,
    }
}

fn outage(group: u16, mode: OutageMode, at_s: u64, for_s: u64) -> FeatureOutageSpec {
    FeatureOutageSpec {
        group,
        mode,
        at: Duration::from_secs(at_s),
        duration: Some(Duration::from_secs(for_s)),
    }
}

fn store(spec: FeatureStoreSpec) -> FeatureStore {
    FeatureStore::new(&spec, 1, &RngStreams::new(3)).expect("an endpoint uses it")
}

fn at(ns: u64) -> SimTime {
    SimTime::from_nanos(ns)
}

/// Counts of each path over `n` lookups, one every second from `from_s`.
fn paths(s: &mut FeatureStore, from_s: u64, n: u64) -> [u64; 5] {
    let mut counts = [0; 5];
    for k in 0..n {
        let l = s.lookup(at((from_s + k) * S), 0, 0);
        counts[l.used.path as usize] += 1;
    }
    counts
}

fn one_group(on_failure: OnFailure, ttl_s: u64, then: OnFailure) -> FeatureStore {
    let mut s = store(FeatureStoreSpec {
        groups: vec![group("customers", 4.0, Some(900))],
        uses: vec![uses(vec![0], on_failure, ttl_s, then)],
        outages: vec![outage(0, OutageMode::Unavailable, 10, 10)],
        quotas: StoreQuotas::default(),
    });
    // Ten good lookups fill the cache; the outage covers the next ten.
    assert_eq!(paths(&mut s, 0, 10), [0, 10, 0, 0, 0]);
    s.outage_start(at(10 * S), 0);
    s
}

#[test]
fn each_fallback_path_serves_what_it_says() {
    // [NotLooked, Fresh, Cached, Default, Failed]
    let mut s = one_group(OnFailure::Error, 0, OnFailure::Error);
    assert_eq!(paths(&mut s, 10, 10), [0, 0, 0, 0, 10]);
    let mut s = one_group(OnFailure::Default, 0, OnFailure::Error);
    assert_eq!(paths(&mut s, 10, 10), [0, 0, 0, 10, 0]);
    // The last good copy was fetched at 9 s: younger than 5 s up to
    // 13.999… s, so 10–13 come from cache and 14–19 fall back.
    let mut s = one_group(OnFailure::StaleCache, 5, OnFailure::Default);
    assert_eq!(paths(&mut s, 10, 10), [0, 0, 4, 6, 0]);
    let mut s = one_group(OnFailure::StaleCache, 5, OnFailure::Error);
    assert_eq!(paths(&mut s, 10, 10), [0, 0, 4, 0, 6]);
    // Every failure is counted as unavailable, and the lookup still took
    // its latency.
    let l = s.lookup(at(12 * S), 0, 0);
    assert_eq!(l.used.error, LookupError::Unavailable);
    assert_eq!(l.latency_ns, 4 * MS);
    // After the outage, lookups are fresh again.
    s.outage_end(at(20 * S), 0);
    assert_eq!(paths(&mut s, 20, 3), [0, 3, 0, 0, 0]);
}

#[test]
fn the_cache_ttl_boundary_is_exclusive() {
    let mut s = one_group(OnFailure::StaleCache, 5, OnFailure::Default);
    let fetched = 9 * S;
    let just_inside = s.lookup(at(fetched + 5 * S - 1), 0, 0);
    assert_eq!(just_inside.used.path, FeaturePath::Cached);
    let at_ttl = s.lookup(at(fetched + 5 * S), 0, 0);
    assert_eq!(at_ttl.used.path, FeaturePath::Default);
    assert_eq!(at_ttl.used.age_ms(), None);
    // Another instance never saw the record: nothing to serve from cache.
    let other = s.lookup(at(fetched + S), 0, 1);
    assert_eq!(other.used.path, FeaturePath::Default);
}

#[test]
fn a_cached_copy_ages_from_its_last_write() {
    // Record 0 is written every 900 s at phase 0: the copy fetched at 9 s
    // was written at 0 s, so served at 12 s it is 12 s old.
    let mut s = one_group(OnFailure::StaleCache, 5, OnFailure::Default);
    let l = s.lookup(at(12 * S), 0, 0);
    assert_eq!(l.used.path, FeaturePath::Cached);
    assert_eq!(l.used.age_ms(), Some(12_000));
}

#[test]
fn batch_get_record_over_two_groups_falls_back_group_by_group() {
    let mut s = store(FeatureStoreSpec {
        groups: vec![
            group("customers", 4.0, Some(60)),
            group("merchants", 9.0, Some(60)),
        ],
        uses: vec![uses(vec![0, 1], OnFailure::Default, 0, OnFailure::Error)],
        outages: vec![outage(1, OutageMode::Unavailable, 0, 100)],
        quotas: StoreQuotas {
            get_record_tps: 10_000.0,
            batch_get_record_tps: 2.0,
        },
    });
    let l = s.lookup(at(30 * S), 0, 0);
    // One call: the slower group's latency.
    assert_eq!(l.latency_ns, 9 * MS);
    assert_eq!(l.used.path, FeaturePath::Fresh);
    assert_eq!(l.used.age_ms(), Some(30_000));
    s.outage_start(at(31 * S), 0);
    let l = s.lookup(at(31 * S), 0, 0);
    // The merchants group failed and got its defaults; the customers
    // record was still served, and its age is the request's.
    assert_eq!(l.used.path, FeaturePath::Default);
    assert_eq!(l.used.error, LookupError::Unavailable);
    assert_eq!(l.used.age_ms(), Some(31_000));
    let l = s.lookup(at(31 * S), 0, 0);
    assert_eq!(l.used.error, LookupError::Unavailable);
    // BatchGetRecord has its own quota: two calls a second (one second of
    // burst), so a third in the same instant is throttled, for both
    // groups.
    let l = s.lookup(at(31 * S), 0, 0);
    assert_eq!(l.used.error, LookupError::Throttled);
    assert_eq!(l.used.path, FeaturePath::Default);
    assert_eq!(l.used.age_ms(), None);
}

#[test]
fn ages_grow_while_ingestion_is_stopped_and_reset_after() {
    let mut s = store(FeatureStoreSpec {
        groups: vec![group("customers", 4.0, Some(60))],
        uses: vec![uses(vec![0], OnFailure::Error, 0, OnFailure::Error)],
        outages: vec![outage(0, OutageMode::Stale, 100, 300)],
        quotas: StoreQuotas::default(),
    });
    let age = |s: &mut FeatureStore, t: u64| s.lookup(at(t * S), 0, 0).used.age_ms();
    assert_eq!(age(&mut s, 90), Some(30_000));
    s.outage_start(at(100 * S), 0);
    // Writes at 120, 180, … do not happen: the one at 60 s stands.
    assert_eq!(age(&mut s, 130), Some(70_000));
    assert_eq!(age(&mut s, 399), Some(339_000));
    s.outage_end(at(400 * S), 0);
    // Ingestion resumes on its schedule: the next write is at 420 s.
    assert_eq!(age(&mut s, 410), Some(350_000));
    assert_eq!(age(&mut s, 425), Some(5_000));
    // A stale store still answers: nothing failed.
    assert_eq!(s.lookup(at(426 * S), 0, 0).used.path, FeaturePath::Fresh);
}

#[test]
fn a_slow_store_times_lookups_out_at_the_client_timeout() {
    let mut s = store(FeatureStoreSpec {
        groups: vec![group("customers", 4.0, None)],
        uses: vec![uses(vec![0], OnFailure::Default, 0, OnFailure::Error)],
        outages: vec![
            outage(
                0,
                OutageMode::Slow {
                    delay: Duration::from_millis(30),
                },
                0,
                10,
            ),
            outage(
                0,
                OutageMode::Slow {
                    delay: Duration::from_millis(30),
                },
                0,
                10,
            ),
        ],
        quotas: StoreQuotas::default(),
    });
    s.outage_start(at(0), 0);
    let l = s.lookup(at(S), 0, 0);
    assert_eq!((l.latency_ns, l.used.path), (34 * MS, FeaturePath::Fresh));
    // A second slow outage on top: 64 ms is past the 50 ms timeout.
    s.outage_start(at(S), 1);
    let l = s.lookup(at(2 * S), 0, 0);
    assert_eq!(l.latency_ns, 50 * MS);
    assert_eq!(l.used.error, LookupError::Timeout);
    assert_eq!(l.used.path, FeaturePath::Default);
}

#[test]
fn an_error_rate_fails_that_share_of_lookups() {
    let mut s = store(FeatureStoreSpec {
        groups: vec![group("customers", 4.0, None)],
        uses: vec![uses(vec![0], OnFailure::Error, 0, OnFailure::Error)],
        outages: vec![outage(0, OutageMode::Errors { rate: 0.25 }, 0, 10)],
        quotas: StoreQuotas::default(),
    });
    s.outage_start(at(0), 0);
    let n = 20_000;
    let failed = (0..n)
        .filter(|&k| s.lookup(at(k * MS / 10), 0, 0).used.path == FeaturePath::Failed)
        .count() as f64;
    let share = failed / n as f64;
    assert!((share - 0.25).abs() < 0.01, "{share}");
}

#[test]
fn a_throttled_outage_admits_its_quota() {
    let mut s = store(FeatureStoreSpec {
        groups: vec![group("customers", 4.0, None)],
        uses: vec![uses(vec![0], OnFailure::Error, 0, OnFailure::Error)],
        outages: vec![outage(0, OutageMode::Throttled { tps: 10.0 }, 0, 10)],
        quotas: StoreQuotas::default(),
    });
    s.outage_start(at(0), 0);
    // 100 calls a second for 5 s against 10 a second (and a second of
    // burst): 10 + 5 × 10 get through.
    let ok = (0..500)
        .filter(|&k| s.lookup(at(k * 10 * MS), 0, 0).used.path == FeaturePath::Fresh)
        .count();
    assert_eq!(ok, 59);
    s.outage_end(at(5 * S), 0);
    assert_eq!(paths(&mut s, 5, 3), [0, 3, 0, 0, 0]);
}

/// Through the platform: the lookup comes before the model on the
/// instance's slot, and an `error` fallback fails the request as the
/// container would.
#[test]
fn the_platform_adds_the_lookup_to_service_and_fails_with_model_error() {
    use crate::spec::*;
    use crate::{Cause, Outcome, Platform, Request};
    let spec = PlatformSpec {
        endpoints: vec![EndpointSpec {
            name: "ep".into(),
            routing: Routing::Random,
            zones: 1,
            variants: vec![VariantSpec {
                name: "AllTraffic".into(),
                model: "m".into(),
                weight: 1.0,
                instance: InstanceTypeSpec {
                    name: "ml.m5.xlarge".into(),
                    price_per_hour: 0.23,
                    provisioning_min: Duration::from_secs(240),
                    provisioning_max: Duration::from_secs(360),
                    vcpus: 4,
                    gpus: 0,
                },
                instance_count: 1,
                concurrency: 1,
                service: ServiceDist::constant(0.010).unwrap(),
                external: false,
                model_load: Duration::ZERO,
                autoscaling: None,
                multi_model: None,
                error_rate: 0.0,
                shadow: None,
            }],
        }],
        feature_store: FeatureStoreSpec {
            groups: vec![group("customers", 4.0, Some(60))],
            uses: vec![uses(vec![0], OnFailure::Error, 0, OnFailure::Error)],
            outages: vec![outage(0, OutageMode::Unavailable, 10, 10)],
            quotas: StoreQuotas::default(),
        },
        ..PlatformSpec::default()
    };
    let mut p = Platform::new(&spec, RngStreams::new(7));
    let mut results = Vec::new();
    let mut events = Vec::new();
    for k in 0..30u64 {
        let now = at(k * S);
        while p.poll_timeout().is_some_and(|t| t <= now) {
            let t = p.poll_timeout().unwrap();
            p.handle_timeout(t);
        }
        p.handle_request(
            now,
            Request {
                id: k,
                endpoint: 0,
                target_variant: None,
                sent_at: now,
                timeout_ns: S,
                target_model: None,
            },
        );
        while let Some(t) = p.poll_timeout() {
            if t > now + Duration::from_millis(500) {
                break;
            }
            p.handle_timeout(t);
        }
        while let Some(r) = p.poll_result() {
            results.push(r);
        }
        while let Some(e) = p.poll_event() {
            events.push(e.detail);
        }
    }
    assert_eq!(results.len(), 30);
    let ok: Vec<_> = results
        .iter()
        .filter(|r| r.outcome == Outcome::Ok)
        .collect();
    assert_eq!(ok.len(), 20);
    // 4 ms lookup + 10 ms model.
    assert!(ok.iter().all(|r| r.latency_ns == 14 * MS));
    assert!(ok.iter().all(|r| r.features.path == FeaturePath::Fresh));
    let failed: Vec<_> = results
        .iter()
        .filter(|r| r.outcome != Outcome::Ok)
        .collect();
    assert_eq!(failed.len(), 10);
    assert!(failed.iter().all(|r| r.cause == Cause::ModelError(500)
        && r.outcome == Outcome::Server5xx
        && r.latency_ns == 4 * MS
        && r.features.path == FeaturePath::Failed
        && (10..20).contains(&(r.sent_at.as_nanos() / S))));
    assert_eq!(
        events,
        [
            "feature_store_outage (unavailable) of customers began: every lookup is answered ServiceUnavailable",
            "feature_store_outage (unavailable) of customers ended",
        ]
    );
}

/// The runtime API's rules, on a two-record generated group whose
/// records were written once (event time: the run's start).
mod api {
    use super::*;

    const EPOCH: f64 = 1_796_083_200.0; // 2026-12-01T00:00:00Z

    fn api_store(outages: Vec<FeatureOutageSpec>) -> FeatureStore {
        let mut g = group("customers", 4.0, None);
        g.records = 2;
        g.features.push(FeatureDef {
            name: "avg_basket_usd".into(),
            default: "42.0".into(),
        });
        store(FeatureStoreSpec {
            groups: vec![g],
            uses: vec![uses(vec![0], OnFailure::Default, 0, OnFailure::Error)],
            outages,
            quotas: StoreQuotas::default(),
        })
    }

    fn rec(pairs: &[(&str, &str)]) -> Record {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn event_times_parse_and_format_both_ways() {
        assert_eq!(event_time_secs("2026-12-01T00:00:00Z"), Some(EPOCH));
        assert_eq!(
            event_time_secs("2024-02-29T12:30:15.250Z"),
            Some(1_709_209_815.25)
        );
        assert_eq!(event_time_secs("1709209815.5"), Some(1_709_209_815.5));
        for bad in ["", "2026-13-01T00:00:00Z", "2026-12-01 00:00:00", "soon"] {
            assert_eq!(event_time_secs(bad), None, "{bad:?}");
        }
        assert_eq!(format_event_time(EPOCH, 0), "2026-12-01T00:00:00.000Z");
        assert_eq!(
            format_event_time(EPOCH, -1_500 * MS as i64),
            "2026-11-30T23:59:58.500Z"
        );
    }

    #[test]
    fn a_generated_record_is_the_same_on_every_read_and_a_missing_one_is_none() {
        let mut s = api_store(vec![]);
        let a = s.get_record(at(S), EPOCH, "customers", "1", &[]);
        assert_eq!(a.latency, Duration::from_millis(4));
        let r = a.result.unwrap().expect("record 1 exists");
        let names: Vec<&str> = r.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "record_id",
                "purchase_count_30d",
                "avg_basket_usd",
                "event_time"
            ]
        );
        assert_eq!(r[0].1, "1");
        let count: u64 = r[1].1.parse().unwrap();
        assert!(count < 20, "an integer default 0 gives 0..20: {count}");
        let basket: f64 = r[2].1.parse().unwrap();
        assert!((0.0..84.0).contains(&basket), "{basket}");
        assert_eq!(r[3].1, "2026-12-01T00:00:00.000Z");
        let again = s.get_record(at(2 * S), EPOCH, "customers", "1", &[]);
        assert_eq!(again.result.unwrap(), Some(r));
        // "01" and "2" name no record of "0" … "1".
        for id in ["01", "2"] {
            let a = s.get_record(at(S), EPOCH, "customers", id, &[]);
            assert_eq!(a.result, Ok(None), "{id}");
        }
        let a = s.get_record(at(S), EPOCH, "nope", "1", &[]);
        assert_eq!(a.result, Err(StoreError::NotFound("nope".into())));
    }

    #[test]
    fn put_needs_a_newer_event_time_and_delete_needs_one_too() {
        let mut s = api_store(vec![]);
        let put = |s: &mut FeatureStore, count: &str, t: &str| {
            s.put_record(
                at(S),
                EPOCH,
                "customers",
                rec(&[
                    ("record_id", "1"),
                    ("purchase_count_30d", count),
                    ("event_time", t),
                ]),
            )
            .result
        };
        let count = |s: &mut FeatureStore| {
            let r = s.get_record(
                at(S),
                EPOCH,
                "customers",
                "1",
                &["purchase_count_30d".into()],
            );
            r.result.unwrap().map(|r| r[0].1.clone())
        };
        // Older than ingestion's write at the start: ignored.
        assert_eq!(put(&mut s, "77", "2026-11-30T00:00:00Z"), Ok(()));
        assert_ne!(count(&mut s).as_deref(), Some("77"));
        assert_eq!(put(&mut s, "77", "2026-12-02T00:00:00Z"), Ok(()));
        assert_eq!(count(&mut s).as_deref(), Some("77"));
        assert!(matches!(
            put(&mut s, "1", "tomorrow"),
            Err(StoreError::Validation(_))
        ));
        // A hard delete no newer than the record is refused; a soft one
        // does nothing; a newer one deletes.
        let del = |s: &mut FeatureStore, t: &str, hard: bool| {
            s.delete_record(at(S), EPOCH, "customers", "1", t, hard)
                .result
        };
        assert!(matches!(
            del(&mut s, "2026-12-01T00:00:00Z", true),
            Err(StoreError::Validation(_))
        ));
        assert_eq!(del(&mut s, "2026-12-01T00:00:00Z", false), Ok(()));
        assert_eq!(count(&mut s).as_deref(), Some("77"));
        assert_eq!(del(&mut s, "2026-12-03T00:00:00Z", false), Ok(()));
        assert_eq!(count(&mut s), None);
    }

    #[test]
    fn outages_answer_the_services_errors_after_the_store_latency() {
        let mut s = api_store(vec![
            outage(0, OutageMode::Unavailable, 10, 10),
            outage(
                0,
                OutageMode::Slow {
                    delay: Duration::from_millis(100),
                },
                30,
                10,
            ),
        ]);
        s.outage_start(at(10 * S), 0);
        let a = s.get_record(at(11 * S), EPOCH, "customers", "1", &[]);
        assert_eq!(a.result, Err(StoreError::Unavailable));
        assert_eq!(a.latency, Duration::from_millis(4));
        let b = s.batch_get_record(
            at(11 * S),
            EPOCH,
            &[BatchIdentifier {
                group: "customers".into(),
                ids: vec!["0".into(), "1".into()],
                names: vec![],
            }],
        );
        let items = b.result.expect("a batch answers 200");
        assert!(items
            .iter()
            .all(|i| i.result == Err(StoreError::Unavailable)));
        s.outage_end(at(20 * S), 0);
        s.outage_start(at(30 * S), 1);
        let a = s.get_record(at(31 * S), EPOCH, "customers", "1", &[]);
        assert!(a.result.is_ok());
        assert_eq!(a.latency, Duration::from_millis(104));
    }
}
