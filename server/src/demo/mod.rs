//! Demo mode: the whole federation — national, two provinces, three cities — on loopback in
//! one process, each node with its own SQLite database and synthetic but valid data for the
//! five scenarios of the pilot notice.
//!
//! ```text
//!  100000 国家 :8000
//!   ├─ 410000 河南省 :8410  (wallet: accounts, device keys, grants; sharing platform)
//!   │    ├─ 410100 郑州市 :8411
//!   │    └─ 411100 漯河市 :8412  (漯河市民之家 counter)
//!   └─ 420000 湖北省 :8420
//!        └─ 420100 武汉市 :8421
//! ```
//!
//! The first start writes one configuration file per node with fresh secrets under
//! `data/demo/<region>/`; later starts reuse them, and the seed (`seed`) adds nothing twice.
//! `write_configs` writes the same six files for running the nodes as separate processes.

pub mod catalog;
pub mod config;
pub mod issued;
pub mod people;
pub mod seed;

use axum::serve::ListenerExt;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{ConfigError, Settings};
use crate::state::{AppState, Clock};
use crate::StartError;

pub use config::resident_password;

pub const NATIONAL: &str = "100000";
pub const HENAN: &str = "410000";
pub const ZHENGZHOU: &str = "410100";
pub const LUOHE: &str = "411100";
pub const HUBEI: &str = "420000";
pub const WUHAN: &str = "420100";

/// One node of the demo federation and its port, `base + offset`.
#[derive(Debug)]
pub struct NodeSpec {
    pub region: &'static str,
    pub name: &'static str,
    pub port_offset: u16,
}

pub const DEFAULT_BASE_PORT: u16 = 8000;

pub const NODES: [NodeSpec; 6] = [
    NodeSpec {
        region: NATIONAL,
        name: "国家电子证照系统（演示）",
        port_offset: 0,
    },
    NodeSpec {
        region: HENAN,
        name: "河南省电子证照系统（演示）",
        port_offset: 410,
    },
    NodeSpec {
        region: ZHENGZHOU,
        name: "郑州市电子证照系统（演示）",
        port_offset: 411,
    },
    NodeSpec {
        region: LUOHE,
        name: "漯河市电子证照系统（演示）",
        port_offset: 412,
    },
    NodeSpec {
        region: HUBEI,
        name: "湖北省电子证照系统（演示）",
        port_offset: 420,
    },
    NodeSpec {
        region: WUHAN,
        name: "武汉市电子证照系统（演示）",
        port_offset: 421,
    },
];

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo data: {0}")]
    Id(#[from] wallet_core::id::IdError),
    #[error("demo key: {0}")]
    Key(#[from] wallet_core::keys::KeyError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("random generator: {0}")]
    Random(String),
    #[error("cannot write a configuration file: {0}")]
    Toml(#[from] toml::ser::Error),
    #[error("base port {0}: the six ports base … base+421 must lie in 1–65535")]
    BasePort(u16),
    #[error("{0} is not a node of the demo federation")]
    UnknownRegion(String),
    #[error("{0} exists; remove it or choose another directory")]
    Exists(String),
    #[error("{dir} holds only some of the six demo nodes; remove the directory to start afresh")]
    Incomplete { dir: String },
    #[error("{node}: {source}")]
    Start {
        node: String,
        source: Box<StartError>,
    },
    #[error("listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The node's port for a base port.
pub fn port(node: &NodeSpec, base: u16) -> Result<u16, DemoError> {
    base.checked_add(node.port_offset)
        .filter(|_| base > 0)
        .ok_or(DemoError::BasePort(base))
}

/// `http://127.0.0.1:PORT`.
pub fn url(node: &NodeSpec, base: u16) -> Result<String, DemoError> {
    Ok(format!("http://127.0.0.1:{}", port(node, base)?))
}

/// The URL of the demo node for `region`.
pub fn url_of(region: &str, base: u16) -> Result<String, DemoError> {
    let node = NODES
        .iter()
        .find(|n| n.region == region)
        .ok_or_else(|| DemoError::UnknownRegion(region.to_owned()))?;
    url(node, base)
}

/// Creates `dir` and returns its absolute form.
fn absolute_dir(dir: &Path) -> Result<PathBuf, DemoError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    dir.canonicalize().map_err(io(dir))
}

/// Writes a file only its owner can read: it holds secrets.
fn write_secret(path: &Path, text: &str) -> Result<(), DemoError> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(text.as_bytes()).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

fn load(path: &Path) -> Result<Settings, DemoError> {
    // No `NODE_*` overrides: in one process they would apply to all six nodes alike.
    Ok(Settings::load(path, |_| None)?)
}

/// The in-process demo's six nodes under `data_dir` (`<region>/node.toml`, `<region>/node.db`):
/// written with fresh secrets when none exists, reused otherwise. `base_port` decides the
/// ports whatever the files say, so a second federation can run beside the first.
pub fn prepare(data_dir: &Path, base_port: u16) -> Result<Vec<Settings>, DemoError> {
    let dir = absolute_dir(data_dir)?;
    let paths: Vec<PathBuf> = NODES
        .iter()
        .map(|n| dir.join(n.region).join("node.toml"))
        .collect();
    match paths.iter().filter(|p| p.exists()).count() {
        0 => {
            let texts = config::render_all(base_port, |n| {
                format!("sqlite://{}", dir.join(n.region).join("node.db").display())
            })?;
            for (path, text) in paths.iter().zip(texts) {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(io(parent))?;
                }
                write_secret(path, &text)?;
            }
        }
        n if n == NODES.len() => {}
        _ => {
            return Err(DemoError::Incomplete {
                dir: dir.display().to_string(),
            })
        }
    }
    let mut all = Vec::with_capacity(paths.len());
    for (spec, path) in NODES.iter().zip(&paths) {
        let mut settings = load(path)?;
        settings.listen = SocketAddr::from(([127, 0, 0, 1], port(spec, base_port)?));
        for peer in &mut settings.peers {
            peer.url = url_of(&peer.region.to_string(), base_port)?;
        }
        all.push(settings);
    }
    Ok(all)
}

/// Writes the six configurations as `dir/<region>.toml` for separate processes (`server run
/// --config dir/410000.toml`), each seeding its own data at first start. Databases are SQLite
/// files in `dir`, or `<database_prefix>demo_<region>` on PostgreSQL (the databases must
/// exist). Refuses to overwrite: new secrets would orphan existing databases.
pub fn write_configs(
    dir: &Path,
    base_port: u16,
    database_prefix: Option<&str>,
) -> Result<Vec<(PathBuf, Settings)>, DemoError> {
    let dir = absolute_dir(dir)?;
    let paths: Vec<PathBuf> = NODES
        .iter()
        .map(|n| dir.join(format!("{}.toml", n.region)))
        .collect();
    if let Some(existing) = paths.iter().find(|p| p.exists()) {
        return Err(DemoError::Exists(existing.display().to_string()));
    }
    let texts = config::render_all(base_port, |n| match database_prefix {
        Some(prefix) => format!("{prefix}demo_{}", n.region),
        None => format!(
            "sqlite://{}",
            dir.join(format!("{}.db", n.region)).display()
        ),
    })?;
    for (path, text) in paths.iter().zip(&texts) {
        write_secret(path, text)?;
    }
    paths
        .into_iter()
        .map(|p| {
            let s = load(&p)?;
            Ok((p, s))
        })
        .collect()
}

/// One node serving on its listener.
#[derive(Debug)]
pub struct RunningNode {
    pub state: AppState,
    pub addr: SocketAddr,
    task: JoinHandle<std::io::Result<()>>,
}

/// The running federation; `shutdown` stops every node gracefully.
#[derive(Debug)]
pub struct Running {
    pub nodes: Vec<RunningNode>,
    stop: watch::Sender<bool>,
}

impl Running {
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for n in self.nodes {
            match n.task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(addr = %n.addr, error = %e, "node stopped"),
                Err(e) => tracing::error!(addr = %n.addr, error = %e, "node task failed"),
            }
        }
    }
}

/// Binds every node's port first (so a taken port fails before anything starts), then starts
/// each node — migrations, configuration, demo seed — and serves it on its own task.
pub async fn spawn(
    nodes: Vec<Settings>,
    static_root: Option<PathBuf>,
    clock: Clock,
) -> Result<Running, DemoError> {
    let mut listeners = Vec::with_capacity(nodes.len());
    for s in &nodes {
        let listener = tokio::net::TcpListener::bind(s.listen)
            .await
            .map_err(|source| DemoError::Listen {
                addr: s.listen,
                source,
            })?;
        listeners.push(listener);
    }
    let (stop, stopped) = watch::channel(false);
    let mut running = Vec::with_capacity(nodes.len());
    for (settings, listener) in nodes.into_iter().zip(listeners) {
        let name = settings.name.clone();
        let state = crate::start(settings, clock.clone())
            .await
            .map_err(|source| DemoError::Start {
                node: name,
                source: Box::new(source),
            })?;
        let addr = listener.local_addr().map_err(|source| DemoError::Listen {
            addr: state.settings.listen,
            source,
        })?;
        let app = crate::routes::router(state.clone(), static_root.clone());
        let mut stopped = stopped.clone();
        let task = tokio::spawn(async move {
            axum::serve(
                listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                }),
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })
            .await
        });
        running.push(RunningNode { state, addr, task });
    }
    Ok(Running {
        nodes: running,
        stop,
    })
}

/// What the demo prints once it runs: the nodes, the wallet and counter pages, every demo
/// account with its password and every department's business-system token (departments have
/// no page: they issue, correct and decide objections through the API), labelled 演示.
pub fn banner(nodes: &[Settings], base_port: u16) -> Result<String, DemoError> {
    let at = |region: &str| url_of(region, base_port);
    let mut out = String::new();
    let _ = writeln!(out, "电子证照联邦（演示）——全部数据为虚构的演示数据");
    for n in &NODES {
        let _ = writeln!(out, "  {}  {}  {}/", n.region, n.name, url(n, base_port)?);
    }
    let _ = writeln!(out, "\n演示钱包（豫事办）：{}/", at(HENAN)?);
    let _ = writeln!(out, "演示窗口受理：");
    let _ = writeln!(out, "  漯河市民之家        {}/#/counter", at(LUOHE)?);
    let _ = writeln!(out, "  河南省政务服务中心  {}/#/counter", at(HENAN)?);
    let _ = writeln!(out, "\n演示居民账号（身份证号 / 手机号 / 密码）：");
    for s in nodes {
        let region = s.region.to_string();
        for p in people::PEOPLE.iter().filter(|p| p.home == region) {
            let Some(phone) = p.phone else { continue };
            let id = p.resident_id()?.to_string();
            let _ = writeln!(
                out,
                "  {}（演示） {}  {}  {}  钱包 {}/ — {}",
                p.name,
                id,
                phone,
                resident_password(&s.node_key, &id),
                at(&region)?,
                p.role
            );
        }
    }
    let _ = writeln!(
        out,
        "\n演示部门业务系统令牌（Authorization: Bearer，用于签发、更正和处理异议 /api/issuer/…）："
    );
    for s in nodes {
        for d in &s.departments {
            let _ = writeln!(
                out,
                "  {}（演示） {}  {}/api/issuer/objections",
                d.name,
                d.token.expose(),
                at(&s.region.to_string())?
            );
        }
    }
    let _ = writeln!(out, "\n演示工作人员账号（工号 / 密码）：");
    for s in nodes {
        for st in &s.staff {
            let role = if st.role == "reviewer" {
                "后台审核"
            } else {
                "窗口"
            };
            let _ = writeln!(
                out,
                "  {}（演示）{} {}  {}  {}  {}",
                st.name,
                role,
                st.id,
                st.password.expose(),
                s.name,
                st.counter
            );
        }
    }
    Ok(out)
}
