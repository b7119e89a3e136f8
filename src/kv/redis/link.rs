//! How this process reaches Redis in each topology — one server, the master the sentinels name,
//! or a cluster (through the redis crate's own cluster client) — as one cheap-to-clone
//! connection that commands and scripts run on alike. A probe that finds the current one broken
//! replaces it with a fresh one: for Sentinel, the master named now; for a cluster, a slot map
//! read anew from the seeds.

use std::{sync::RwLock, time::Duration};

use redis::{
    aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig},
    cluster::{ClusterClientBuilder, ClusterConfig},
    cluster_async::ClusterConnection,
    cluster_routing::{
        MultipleNodeRoutingInfo, ResponsePolicy, RoutingInfo, SingleNodeRoutingInfo,
    },
    Client, Cmd, Pipeline, RedisFuture, Value,
};

use super::super::KvError;
use crate::config::{CacheBackend, RedisUrl, SentinelSettings};

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// A connection to one server or to a cluster.
#[derive(Clone)]
pub enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

/// Where Redis is, as configured.
enum Target {
    Single {
        url: RedisUrl,
        sentinel: Option<SentinelSettings>,
    },
    Cluster {
        seeds: Vec<RedisUrl>,
    },
}

pub struct Link {
    target: Target,
    timeout: Duration,
    conn: RwLock<Conn>,
    /// The single server in use (with Sentinel: the master found last); none for a cluster.
    client: RwLock<Option<Client>>,
}

fn manager_config(timeout: Duration) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(500))
}

impl Link {
    /// A link that has not connected yet; `None` when `backend` has no Redis.
    pub fn lazy(backend: &CacheBackend, timeout: Duration) -> Option<Result<Self, KvError>> {
        let target = match backend {
            CacheBackend::Memory => return None,
            CacheBackend::Redis { url } => Target::Single {
                url: url.clone(),
                sentinel: None,
            },
            CacheBackend::Sentinel { sentinel, url } => Target::Single {
                url: url.clone(),
                sentinel: Some(sentinel.clone()),
            },
            CacheBackend::Cluster { seeds } => Target::Cluster {
                seeds: seeds.clone(),
            },
        };
        Some(Self::lazy_to(target, timeout))
    }

    fn lazy_to(target: Target, timeout: Duration) -> Result<Self, KvError> {
        let (conn, client) = match &target {
            Target::Single { url, .. } => {
                let client = Client::open(url.expose()).map_err(|e| scrub(&target, &e))?;
                let conn = ConnectionManager::new_lazy_with_config(
                    client.clone(),
                    manager_config(timeout),
                )
                .map_err(|e| scrub(&target, &e))?;
                (Conn::Single(conn), Some(client))
            }
            Target::Cluster { seeds } => {
                let client = cluster_client(seeds, timeout).map_err(|e| scrub(&target, &e))?;
                let conn = client.get_pending_async_connection_with_config(
                    ClusterConfig::new()
                        .set_connection_timeout(CONNECT_TIMEOUT)
                        .set_response_timeout(timeout),
                );
                (Conn::Cluster(conn), None)
            }
        };
        Ok(Self {
            target,
            timeout,
            conn: RwLock::new(conn),
            client: RwLock::new(client),
        })
    }

    pub fn conn(&self) -> Conn {
        self.conn.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn is_cluster(&self) -> bool {
        matches!(self.target, Target::Cluster { .. })
    }

    pub fn scrub(&self, e: &redis::RedisError) -> KvError {
        scrub(&self.target, e)
    }

    /// Where Redis is, password hidden: the server in use, or the cluster's seeds.
    pub fn describe(&self) -> String {
        match &self.target {
            Target::Cluster { seeds } => {
                let seeds: Vec<String> = seeds.iter().map(RedisUrl::redacted).collect();
                format!("集群 {}", seeds.join(", "))
            }
            Target::Single { url, .. } => {
                let Some(client) = self
                    .client
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone()
                else {
                    return url.redacted();
                };
                let Ok(mut shown) = url::Url::parse(url.expose()) else {
                    return url.redacted();
                };
                if let redis::ConnectionAddr::Tcp(host, port)
                | redis::ConnectionAddr::TcpTls { host, port, .. } =
                    client.get_connection_info().addr()
                {
                    let _ = shown.set_host(Some(host));
                    let _ = shown.set_port(Some(*port));
                }
                crate::config::redact_url(shown.as_str())
            }
        }
    }

    /// Clients to subscribe with, in the order to try them: the server in use, or each seed of
    /// the cluster (a message published on any node reaches subscribers on every node).
    pub fn pubsub_clients(&self) -> Vec<Client> {
        match &self.target {
            Target::Single { .. } => self
                .client
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .cloned()
                .collect(),
            Target::Cluster { seeds } => seeds
                .iter()
                .filter_map(|url| Client::open(url.expose()).ok())
                .collect(),
        }
    }

    /// Connects now and checks Redis can take writes: the server is a master, or the cluster
    /// covers every slot and each master answers.
    pub async fn connect(&self) -> Result<(), KvError> {
        let connect = async {
            let (mut conn, client) = match &self.target {
                Target::Single { url, sentinel } => {
                    let address = self.find_server(url, sentinel.as_ref()).await?;
                    let client = Client::open(address.as_str()).map_err(|e| self.scrub(&e))?;
                    let conn = ConnectionManager::new_with_config(
                        client.clone(),
                        manager_config(self.timeout),
                    )
                    .await
                    .map_err(|e| self.scrub(&e))?;
                    (Conn::Single(conn), Some(client))
                }
                Target::Cluster { seeds } => {
                    let client = cluster_client(seeds, self.timeout).map_err(|e| self.scrub(&e))?;
                    let conn = client
                        .get_async_connection()
                        .await
                        .map_err(|e| self.scrub(&e))?;
                    (Conn::Cluster(conn), None)
                }
            };
            self.check_writable(&mut conn).await?;
            Ok::<_, KvError>((conn, client))
        };
        let (conn, client) = tokio::time::timeout(CONNECT_TIMEOUT * 2 + self.timeout, connect)
            .await
            .map_err(|_| KvError::Timeout)??;
        *self.conn.write().unwrap_or_else(|e| e.into_inner()) = conn;
        *self.client.write().unwrap_or_else(|e| e.into_inner()) = client;
        Ok(())
    }

    /// Whether Redis takes writes now. If not, connects afresh (finding the master again, or
    /// reading the cluster's slots again from its seeds).
    pub async fn probe(&self) -> Result<(), KvError> {
        let mut conn = self.conn();
        if tokio::time::timeout(self.timeout * 2, self.check_writable(&mut conn))
            .await
            .is_ok_and(|r| r.is_ok())
        {
            return Ok(());
        }
        self.connect().await
    }

    /// A single server must say `master` to `ROLE` (an old master after a failover is a
    /// replica and refuses writes); a cluster must be `cluster_state:ok` with every master up.
    async fn check_writable(&self, conn: &mut Conn) -> Result<(), KvError> {
        match conn {
            Conn::Single(single) => {
                let role: Vec<Value> = redis::cmd("ROLE")
                    .query_async(single)
                    .await
                    .map_err(|e| self.scrub(&e))?;
                match role.first() {
                    Some(Value::BulkString(kind)) if kind.as_slice() == b"master" => Ok(()),
                    Some(Value::SimpleString(kind)) if kind == "master" => Ok(()),
                    _ => Err(KvError::Redis("连接的 Redis 不是主节点".to_owned())),
                }
            }
            Conn::Cluster(cluster) => {
                let info = cluster
                    .route_command(
                        redis::cmd("CLUSTER").arg("INFO").to_owned(),
                        RoutingInfo::SingleNode(SingleNodeRoutingInfo::RandomPrimary),
                    )
                    .await
                    .map_err(|e| self.scrub(&e))?;
                let info: String =
                    redis::from_redis_value(info).map_err(|e| KvError::Redis(e.to_string()))?;
                if !info.contains("cluster_state:ok") {
                    return Err(KvError::Redis(
                        "Redis 集群未就绪（cluster_state 不是 ok）".to_owned(),
                    ));
                }
                cluster
                    .route_command(
                        redis::cmd("PING").to_owned(),
                        RoutingInfo::MultiNode((
                            MultipleNodeRoutingInfo::AllMasters,
                            Some(ResponsePolicy::AllSucceeded),
                        )),
                    )
                    .await
                    .map(drop)
                    .map_err(|e| self.scrub(&e))
            }
        }
    }

    /// The cluster's masters as `(host, port)`; `None` for a single server.
    pub async fn masters(&self, conn: &mut Conn) -> Result<Option<Vec<(String, u16)>>, KvError> {
        let Conn::Cluster(cluster) = conn else {
            return Ok(None);
        };
        let replies = cluster
            .route_command(
                redis::cmd("PING").to_owned(),
                RoutingInfo::MultiNode((MultipleNodeRoutingInfo::AllMasters, None)),
            )
            .await
            .map_err(|e| self.scrub(&e))?;
        let Value::Map(replies) = replies else {
            return Err(KvError::Redis("无法列出 Redis 集群的主节点".to_owned()));
        };
        replies
            .into_iter()
            .map(|(address, reply)| {
                if let Value::ServerError(e) = reply {
                    return Err(KvError::Redis(format!(
                        "集群节点出错: {}",
                        e.details().unwrap_or_default()
                    )));
                }
                let address: String =
                    redis::from_redis_value(address).map_err(|e| KvError::Redis(e.to_string()))?;
                address
                    .rsplit_once(':')
                    .and_then(|(host, port)| Some((host.to_owned(), port.parse().ok()?)))
                    .ok_or_else(|| KvError::Redis(format!("无法识别的节点地址 {address}")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Routes `cmd` to the cluster node at `host:port`.
    pub async fn on_node(
        &self,
        conn: &mut Conn,
        (host, port): &(String, u16),
        cmd: Cmd,
    ) -> Result<Value, KvError> {
        let Conn::Cluster(cluster) = conn else {
            return Err(KvError::Redis("不是集群连接".to_owned()));
        };
        cluster
            .route_command(
                cmd,
                RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                    host: host.clone(),
                    port: *port,
                }),
            )
            .await
            .map_err(|e| self.scrub(&e))
    }

    /// The address of the server to use: the configured one, or the master the sentinels name.
    async fn find_server(
        &self,
        url: &RedisUrl,
        sentinel: Option<&SentinelSettings>,
    ) -> Result<String, KvError> {
        let Some(sentinel) = sentinel else {
            return Ok(url.expose().to_owned());
        };
        let mut last = KvError::Redis("没有可用的哨兵".to_owned());
        for addr in &sentinel.addrs {
            let ask = async {
                let client =
                    Client::open(format!("redis://{addr}/")).map_err(|e| self.scrub(&e))?;
                let mut conn = client
                    .get_multiplexed_async_connection()
                    .await
                    .map_err(|e| self.scrub(&e))?;
                let master: Option<(String, u16)> = redis::cmd("SENTINEL")
                    .arg("get-master-addr-by-name")
                    .arg(&sentinel.master)
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| self.scrub(&e))?;
                master.ok_or_else(|| {
                    KvError::Redis(format!("哨兵 {addr} 不知道主节点 {}", sentinel.master))
                })
            };
            match tokio::time::timeout(CONNECT_TIMEOUT, ask).await {
                Ok(Ok((host, port))) => {
                    let mut address =
                        url::Url::parse(url.expose()).map_err(|e| KvError::Redis(e.to_string()))?;
                    address
                        .set_host(Some(&host))
                        .map_err(|e| KvError::Redis(e.to_string()))?;
                    let _ = address.set_port(Some(port));
                    return Ok(address.to_string());
                }
                Ok(Err(e)) => last = e,
                Err(_) => last = KvError::Timeout,
            }
        }
        Err(last)
    }
}

fn urls(target: &Target) -> impl Iterator<Item = &RedisUrl> {
    let (one, many) = match target {
        Target::Single { url, .. } => (Some(url), &[][..]),
        Target::Cluster { seeds } => (None, seeds.as_slice()),
    };
    one.into_iter().chain(many)
}

fn scrub(target: &Target, e: &redis::RedisError) -> KvError {
    KvError::Redis(urls(target).fold(e.to_string(), |text, url| url.scrub(&text)))
}

/// The cluster client: short waits, few retries — every command has its own deadline, and a
/// failing cluster is better left to the breaker and the probe than waited on.
fn cluster_client(
    seeds: &[RedisUrl],
    timeout: Duration,
) -> redis::RedisResult<redis::cluster::ClusterClient> {
    ClusterClientBuilder::new(seeds.iter().map(RedisUrl::expose))
        .connection_timeout(CONNECT_TIMEOUT)
        .response_timeout(timeout)
        .overall_response_timeout(Some(timeout * 4))
        .retries(3)
        .min_retry_wait(20)
        .max_retry_wait(200)
        .build()
}
