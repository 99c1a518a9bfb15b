//! SageMaker's training contract on local disk: a folder laid out like
//! `/opt/ml` and the `SM_*` environment the SageMaker training toolkit
//! sets, so a script written for SageMaker runs unchanged.
//!
//! ```text
//! <root>/input/config/hyperparameters.json   string map
//! <root>/input/config/resourceconfig.json    current_host, hosts
//! <root>/input/data/<channel>/               the channel's files
//! <root>/model/                              the script writes the model
//! <root>/checkpoints/                        kept across spot restarts
//! <root>/output/ , <root>/output/data/       failure file, extra output
//! <root>/logs/attempt-N.{stdout,stderr}      what each attempt printed
//! ```
//!
//! There is no checkpoint variable in the contract: the path is the
//! convention (`/opt/ml/checkpoints`). Here the root is not `/opt/ml`, so
//! gameday also exports `GAMEDAY_ML_ROOT`; a script can use
//! `os.environ.get("GAMEDAY_ML_ROOT", "/opt/ml") + "/checkpoints"`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The one host name a job's process runs as.
pub const HOST: &str = "algo-1";

/// What the contract needs to know about a job.
#[derive(Clone, Debug)]
pub struct JobContract<'a> {
    /// Hyperparameters (strings, as SageMaker passes them).
    pub hyperparameters: &'a BTreeMap<String, String>,
    /// Channel name → file or folder to copy in.
    pub channels: &'a BTreeMap<String, PathBuf>,
    /// Instance type, for `SM_CURRENT_INSTANCE_TYPE`.
    pub instance_type: &'a str,
    /// Accelerators on the modelled instance (`SM_NUM_GPUS`).
    pub gpus: u32,
}

/// A laid-out job folder.
#[derive(Clone, Debug)]
pub struct JobDir {
    /// Its root (`/opt/ml` on SageMaker).
    pub root: PathBuf,
}

fn copy_into(src: &Path, dir: &Path) -> std::io::Result<()> {
    if src.is_dir() {
        for e in std::fs::read_dir(src)? {
            let e = e?;
            let to = dir.join(e.file_name());
            if e.file_type()?.is_dir() {
                std::fs::create_dir_all(&to)?;
                copy_into(&e.path(), &to)?;
            } else {
                std::fs::copy(e.path(), to)?;
            }
        }
        Ok(())
    } else {
        let name = src.file_name().unwrap_or_default();
        std::fs::copy(src, dir.join(name)).map(|_| ())
    }
}

fn write_json(path: &Path, value: &serde_json::Value) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    std::fs::write(path, text + "\n")
}

impl JobDir {
    /// Lays out `root` for a job (the folder is created; existing
    /// checkpoints in it are kept).
    /// `root` is made absolute first: the process runs inside it, so a
    /// relative path in its environment would point nowhere.
    pub fn create(root: &Path, c: &JobContract<'_>) -> std::io::Result<JobDir> {
        let root = &std::path::absolute(root)?;
        let d = JobDir {
            root: root.to_path_buf(),
        };
        for sub in [
            "input/config",
            "input/data",
            "model",
            "checkpoints",
            "output/data",
            "logs",
        ] {
            std::fs::create_dir_all(root.join(sub))?;
        }
        write_json(
            &d.config_dir().join("hyperparameters.json"),
            &serde_json::to_value(c.hyperparameters).map_err(std::io::Error::other)?,
        )?;
        write_json(
            &d.config_dir().join("resourceconfig.json"),
            &serde_json::json!({
                "current_host": HOST,
                "hosts": [HOST],
                "network_interface_name": "lo",
            }),
        )?;
        let mut data_config = serde_json::Map::new();
        for (name, src) in c.channels {
            let dir = d.channel_dir(name);
            std::fs::create_dir_all(&dir)?;
            copy_into(src, &dir)?;
            data_config.insert(
                name.clone(),
                serde_json::json!({"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"}),
            );
        }
        write_json(
            &d.config_dir().join("inputdataconfig.json"),
            &serde_json::Value::Object(data_config),
        )?;
        Ok(d)
    }

    /// `input/config`.
    pub fn config_dir(&self) -> PathBuf {
        self.root.join("input/config")
    }

    /// `input/data/<name>`.
    pub fn channel_dir(&self, name: &str) -> PathBuf {
        self.root.join("input/data").join(name)
    }

    /// `model/`.
    pub fn model_dir(&self) -> PathBuf {
        self.root.join("model")
    }

    /// `checkpoints/`.
    pub fn checkpoint_dir(&self) -> PathBuf {
        self.root.join("checkpoints")
    }

    /// `logs/`.
    pub fn log_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// A restart lands on a fresh instance: `model/` and `output/` start
    /// empty again, `checkpoints/` is restored as it was.
    pub fn reset_for_restart(&self) -> std::io::Result<()> {
        for sub in ["model", "output"] {
            let p = self.root.join(sub);
            if p.exists() {
                std::fs::remove_dir_all(&p)?;
            }
        }
        std::fs::create_dir_all(self.root.join("model"))?;
        std::fs::create_dir_all(self.root.join("output/data"))
    }

    /// The environment the SageMaker training toolkit sets, plus
    /// `GAMEDAY_ML_ROOT` and, when given, the IMDS endpoint.
    pub fn env(&self, c: &JobContract<'_>, imds: Option<&str>) -> Vec<(String, String)> {
        let p = |x: PathBuf| x.display().to_string();
        let channels: Vec<&String> = c.channels.keys().collect();
        let mut env = vec![
            ("SM_MODEL_DIR".into(), p(self.model_dir())),
            ("SM_INPUT_DIR".into(), p(self.root.join("input"))),
            ("SM_INPUT_CONFIG_DIR".into(), p(self.config_dir())),
            ("SM_OUTPUT_DIR".into(), p(self.root.join("output"))),
            (
                "SM_OUTPUT_DATA_DIR".into(),
                p(self.root.join("output/data")),
            ),
            (
                "SM_CHANNELS".into(),
                serde_json::to_string(&channels).unwrap_or_default(),
            ),
            (
                "SM_HPS".into(),
                serde_json::to_string(c.hyperparameters).unwrap_or_default(),
            ),
            ("SM_HOSTS".into(), format!("[\"{HOST}\"]")),
            ("SM_CURRENT_HOST".into(), HOST.into()),
            ("SM_CURRENT_INSTANCE_TYPE".into(), c.instance_type.into()),
            ("SM_NUM_GPUS".into(), c.gpus.to_string()),
            (
                "SM_NUM_CPUS".into(),
                std::thread::available_parallelism()
                    .map_or(1, |n| n.get())
                    .to_string(),
            ),
            ("GAMEDAY_ML_ROOT".into(), p(self.root.clone())),
        ];
        for name in c.channels.keys() {
            env.push((
                format!("SM_CHANNEL_{}", name.to_uppercase().replace('-', "_")),
                p(self.channel_dir(name)),
            ));
        }
        for (k, v) in c.hyperparameters {
            env.push((
                format!("SM_HP_{}", k.to_uppercase().replace('-', "_")),
                v.clone(),
            ));
        }
        if let Some(url) = imds {
            env.push(("AWS_EC2_METADATA_SERVICE_ENDPOINT".into(), url.into()));
            env.push((
                "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE".into(),
                "IPv4".into(),
            ));
        }
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lays_out_the_tree_and_the_environment() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("train.csv");
        std::fs::write(&data, "a,b\n1,2\n").unwrap();
        let hps = BTreeMap::from([("epochs".to_string(), "3".to_string())]);
        let channels = BTreeMap::from([("train".to_string(), data)]);
        let c = JobContract {
            hyperparameters: &hps,
            channels: &channels,
            instance_type: "ml.p3.2xlarge",
            gpus: 1,
        };
        let root = tmp.path().join("job");
        let d = JobDir::create(&root, &c).unwrap();
        let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
        let hp: serde_json::Value =
            serde_json::from_str(&read("input/config/hyperparameters.json")).unwrap();
        assert_eq!(hp, serde_json::json!({"epochs": "3"}));
        let rc: serde_json::Value =
            serde_json::from_str(&read("input/config/resourceconfig.json")).unwrap();
        assert_eq!(rc["current_host"], "algo-1");
        assert_eq!(read("input/data/train/train.csv"), "a,b\n1,2\n");
        for dir in ["model", "checkpoints", "output/data"] {
            assert!(root.join(dir).is_dir(), "{dir}");
        }
        let env: BTreeMap<String, String> =
            d.env(&c, Some("http://127.0.0.1:9")).into_iter().collect();
        assert_eq!(env["SM_CHANNELS"], "[\"train\"]");
        assert_eq!(env["SM_HPS"], "{\"epochs\":\"3\"}");
        assert_eq!(env["SM_HP_EPOCHS"], "3");
        assert_eq!(env["SM_HOSTS"], "[\"algo-1\"]");
        assert!(env["SM_CHANNEL_TRAIN"].ends_with("input/data/train"));
        assert!(env["SM_MODEL_DIR"].ends_with("job/model"));
        assert_eq!(
            env["AWS_EC2_METADATA_SERVICE_ENDPOINT"],
            "http://127.0.0.1:9"
        );
        // A restart keeps checkpoints and empties the model folder.
        std::fs::write(root.join("checkpoints/c"), "x").unwrap();
        std::fs::write(root.join("model/m"), "x").unwrap();
        d.reset_for_restart().unwrap();
        assert!(root.join("checkpoints/c").exists());
        assert!(!root.join("model/m").exists());
    }

    #[test]
    fn a_relative_root_gives_the_process_absolute_paths() {
        // The process runs inside the job folder: a path relative to where
        // gameday started would point nowhere from there.
        let tmp = tempfile::tempdir_in(".").unwrap();
        let rel = Path::new(".")
            .join(tmp.path().file_name().unwrap())
            .join("job");
        assert!(rel.is_relative());
        let (hps, channels) = (BTreeMap::new(), BTreeMap::new());
        let c = JobContract {
            hyperparameters: &hps,
            channels: &channels,
            instance_type: "ml.p3.2xlarge",
            gpus: 1,
        };
        let d = JobDir::create(&rel, &c).unwrap();
        for (k, v) in d.env(&c, None) {
            if k.starts_with("SM_") && k.ends_with("_DIR") {
                assert!(Path::new(&v).is_absolute(), "{k}={v}");
            }
        }
    }
}
