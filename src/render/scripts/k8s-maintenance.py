#!/usr/bin/env python3
# Rolling maintenance of a database pod on Kubernetes (docs/operations.md, "Kubernetes"): the
# `maintenance` container of every pod of the StatefulSet, whose update strategy is OnDelete,
# so no pod is replaced unless this agent hands it over. Python 3 standard library only (the
# image has Python for Patroni). Each run (every INTERVAL seconds):
#   1. what differs: this pod's `controller-revision-hash` label against the StatefulSet's
#      status.updateRevision (a new pod template: image, size, configuration) -> "replace";
#      Patroni's pending_restart -> "restart";
#   2. in the maintenance window, or at once with APPLY_IMMEDIATELY, one pod at a time (the
#      lock: ConfigMap LOCK_CONFIGMAP, updated with its resourceVersion, so two pods cannot both
#      take it; a holder that stops renewing loses it after LOCK_TTL seconds), replicas first,
#      the primary last after a Patroni switchover to the synchronous standby, and only while the
#      cluster is healthy (every member running or streaming, one leader, lag at most
#      LAG_LIMIT_BYTES, a synchronous standby when there are several members);
#   3. "replace" evicts the pod (the Eviction API honours the PodDisruptionBudget); the
#      StatefulSet recreates it from the new template with the same name and volume; the new
#      pod releases the lock once it is healthy again. The annotation PAUSE_ANNOTATION on the
#      lock ConfigMap (any value) pauses the roll.
# Every decision is one log line on stdout (`kubectl logs <pod> -c maintenance`).
# Environment: POD_NAME, NAMESPACE (default: the service account's), STATEFULSET, MEMBER_COUNT,
#   LOCK_CONFIGMAP, MW_DAY (ISO weekday, 1 = Monday), MW_START_MINUTE (minutes after 00:00 UTC),
#   MW_DURATION (minutes), APPLY_IMMEDIATELY (yes|no), LAG_LIMIT_BYTES, LOCK_TTL (seconds),
#   INTERVAL (seconds), PATRONI_URL, PATRONI_CA, PATRONI_RESTAPI_USERNAME,
#   PATRONI_RESTAPI_PASSWORD, DATA_MOUNT (the pod's data volume, mounted read-only here), and for
#   tests K8S_API, K8S_TOKEN_FILE, K8S_CA (absent: in-cluster).
# Before each run, on the primary: the WAL limits that follow the data volume (max_wal_size,
#   max_slot_wal_keep_size: walLimitsForVolume in src/render/postgres.ts, the same formula) into
#   Patroni's dynamic configuration when they differ (PATCH /config: a reload, no restart), from
#   the size of the filesystem at DATA_MOUNT, which the CSI driver grows online when the PVC grows;
#   so a storage change changes no pod template (docs/operations.md, "Storage growth").
# Each run of a pod on the StatefulSet's revision: Patroni's dynamic configuration brought to
#   DCS_CONFIGURATION (the JSON of patroni.yml's bootstrap.dcs, which Patroni applies only when it
#   creates the cluster) where it differs, so a new size's max_connections reaches a running
#   cluster; decreases a standby must match are held (dcs_configuration_patch).
# Usage: maintenance.py [--once] [--now EPOCH]
import base64
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
# A standby must run these at least as high as its primary (PostgreSQL documentation, "Hot
# Standby", administrator's overview): a decrease needs the primary restarted first.
STANDBY_MINIMUM = ("max_connections", "max_prepared_transactions", "max_locks_per_transaction", "max_worker_processes", "max_wal_senders")
PAUSE_ANNOTATION = "managed-postgres/maintenance-paused"
LEADER_ROLES = ("leader", "master", "primary", "standby_leader")


def log(message):
    print(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) + " maintenance: " + message, flush=True)


def setting(name, default=None):
    value = os.environ.get(name, default)
    if value is None:
        raise SystemExit("maintenance: environment variable " + name + " is not set")
    return value


class Http:
    """JSON over HTTP(S) with a CA file (verify) and optional bearer token or basic auth."""

    def __init__(self, base, ca=None, token_file=None, basic=None):
        self.base = base.rstrip("/")
        self.context = ssl.create_default_context(cafile=ca) if base.startswith("https:") else None
        self.token_file = token_file
        self.basic = basic

    def call(self, method, path, body=None, content_type="application/json"):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", content_type)
        if self.token_file:
            with open(self.token_file) as f:  # re-read: projected tokens rotate
                request.add_header("Authorization", "Bearer " + f.read().strip())
        if self.basic:
            request.add_header("Authorization", "Basic " + base64.b64encode(self.basic.encode()).decode())
        try:
            with urllib.request.urlopen(request, timeout=10, context=self.context) as response:
                text = response.read().decode()
                return response.status, (json.loads(text) if text.strip() else None)
        except urllib.error.HTTPError as e:
            text = e.read().decode(errors="replace")
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, text


def wal_limits_for(mib):
    """(max_wal_size, max_slot_wal_keep_size) for a data volume of MIB MiB: walLimitsForVolume."""
    return str(min(8192, max(256, mib // 8))) + "MB", str(mib // 4) + "MB"


def minute_of_week(epoch):
    t = time.gmtime(epoch)
    return t.tm_wday * 1440 + t.tm_hour * 60 + t.tm_min  # tm_wday: Monday = 0


def in_window(epoch, day, start_minute, duration):
    start = (day - 1) * 1440 + start_minute
    return (minute_of_week(epoch) - start + 10080) % 10080 < duration


def as_text(value):
    """A setting's value as text, as jq's tostring writes it: settings are compared as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def as_int(value):
    text = as_text(value)
    return int(text) if text.isdigit() else None


def dcs_configuration_patch(want, have):
    """(patch, held) bringing Patroni's dynamic configuration `have` to `want` (bootstrap.dcs):
    every scalar of `want`, of its postgresql section and of postgresql.parameters whose value
    differs, compared as text; settings `want` does not name are left alone. `held`
    ({name: {"from", "to"}}) are the decreases of STANDBY_MINIMUM left out of the patch: they need
    the primary restarted before the replicas, the opposite of the roll's order (a replica
    restarted first comes back with the primary's value: Patroni's effective_configuration).
    The same rules as dcs_configuration_patch in node-maintenance.sh (AWS)."""
    def differing(w, h):
        h = h if isinstance(h, dict) else {}
        return {k: v for k, v in w.items() if not isinstance(v, dict) and as_text(v) != as_text(h.get(k))}

    wp = want.get("postgresql") or {}
    hp = have.get("postgresql") or {}
    have_parameters = hp.get("parameters") or {}
    parameters = differing(wp.get("parameters") or {}, have_parameters)
    held = {}
    for name, value in parameters.items():
        to, was = as_int(value), as_int(have_parameters.get(name))
        if name in STANDBY_MINIMUM and to is not None and was is not None and to < was:
            held[name] = {"from": as_text(have_parameters.get(name)), "to": as_text(value)}
    postgresql = differing(wp, hp)
    applied = {k: v for k, v in parameters.items() if k not in held}
    if applied:
        postgresql["parameters"] = applied
    patch = differing(want, have)
    if postgresql:
        patch["postgresql"] = postgresql
    return patch, held


class Agent:
    def __init__(self, now):
        self.now = now
        self.pod = setting("POD_NAME")
        sa_namespace = SA_DIR + "/namespace"
        default_ns = open(sa_namespace).read().strip() if os.path.exists(sa_namespace) else None
        self.namespace = setting("NAMESPACE", default_ns)
        self.statefulset = setting("STATEFULSET")
        self.members = int(setting("MEMBER_COUNT"))
        self.lock_name = setting("LOCK_CONFIGMAP")
        self.window = (int(setting("MW_DAY")), int(setting("MW_START_MINUTE")), int(setting("MW_DURATION")))
        self.immediately = setting("APPLY_IMMEDIATELY", "no") == "yes"
        self.lag_limit = int(setting("LAG_LIMIT_BYTES"))
        self.lock_ttl = int(setting("LOCK_TTL"))
        self.k8s = Http(
            setting("K8S_API", "https://kubernetes.default.svc"),
            ca=os.environ.get("K8S_CA", SA_DIR + "/ca.crt"),
            token_file=os.environ.get("K8S_TOKEN_FILE", SA_DIR + "/token"),
        )
        auth = setting("PATRONI_RESTAPI_USERNAME", "patroni") + ":" + setting("PATRONI_RESTAPI_PASSWORD", "")
        self.patroni = Http(setting("PATRONI_URL"), ca=os.environ.get("PATRONI_CA"), basic=auth)
        self.ns_path = "/api/v1/namespaces/" + self.namespace

    # ---- WAL limits that follow the data volume ------------------------------------------
    def set_wal_limits(self):
        """On the primary, when DATA_MOUNT is mounted: the WAL limits of its size into Patroni's
        dynamic configuration when they differ. Returns the limits set, or None."""
        mount = os.environ.get("DATA_MOUNT", "")
        if not mount or not os.path.ismount(mount):
            return None
        status, _ = self.patroni.call("GET", "/primary")
        if status != 200:
            return None
        st = os.statvfs(mount)
        mib = st.f_blocks * st.f_frsize // 1048576
        want = wal_limits_for(mib)
        status, config = self.patroni.call("GET", "/config")
        if status != 200 or not isinstance(config, dict):
            log("GET /config answered " + str(status) + ": WAL limits unchanged")
            return None
        params = (config.get("postgresql") or {}).get("parameters") or {}
        have = (params.get("max_wal_size", "unset"), params.get("max_slot_wal_keep_size", "unset"))
        if have == want:
            return None
        body = {"postgresql": {"parameters": {"max_wal_size": want[0], "max_slot_wal_keep_size": want[1]}}}
        status, _ = self.patroni.call("PATCH", "/config", body)
        if status != 200:
            log("PATCH /config answered " + str(status) + ": WAL limits unchanged")
            return None
        log("WAL limits for a " + str(mib) + " MiB data volume set in Patroni's dynamic configuration: max_wal_size max_slot_wal_keep_size "
            + " ".join(have) + " -> " + " ".join(want) + " (a reload on every member, no restart)")
        return want

    # ---- the dynamic configuration the pod template renders ------------------------------
    def set_dcs_configuration(self):
        """DCS_CONFIGURATION into Patroni's dynamic configuration where it differs (a held
        decrease is logged instead). Returns the patch sent, or None."""
        want = json.loads(setting("DCS_CONFIGURATION", "{}"))
        if not want:
            return None
        status, config = self.patroni.call("GET", "/config")
        if status != 200 or not isinstance(config, dict):
            log("GET /config answered " + str(status) + ": dynamic configuration left as it is")
            return None
        patch, held = dcs_configuration_patch(want, config)
        if held:
            log("not lowering " + ", ".join(k + " " + v["from"] + " -> " + v["to"] for k, v in held.items())
                + " in Patroni's dynamic configuration: a decrease must restart the primary before the replicas, which the roll does not do"
                + ' (docs/operations.md, "Lowering max_connections")')
        if not patch:
            return None
        status, _ = self.patroni.call("PATCH", "/config", patch)
        if status != 200:
            log("PATCH /config answered " + str(status) + ": dynamic configuration unchanged, retrying next run")
            return None
        log("Patroni's dynamic configuration set to what the pod template renders: " + json.dumps(patch, separators=(",", ":")))
        return patch

    # ---- what differs -------------------------------------------------------------------
    def what_differs(self):
        """(need, why) with need in replace | restart | none; raises RuntimeError when it cannot tell."""
        status, sts = self.k8s.call("GET", "/apis/apps/v1/namespaces/" + self.namespace + "/statefulsets/" + self.statefulset)
        if status != 200:
            raise RuntimeError("GET statefulset " + self.statefulset + " answered " + str(status))
        wanted = (sts.get("status") or {}).get("updateRevision")
        status, pod = self.k8s.call("GET", self.ns_path + "/pods/" + self.pod)
        if status != 200:
            raise RuntimeError("GET pod " + self.pod + " answered " + str(status))
        running = ((pod.get("metadata") or {}).get("labels") or {}).get("controller-revision-hash")
        if wanted and running and wanted != running:
            return "replace", "pod template revision " + running + ", StatefulSet " + self.statefulset + " wants " + wanted
        status, patroni = self.patroni.call("GET", "/patroni")
        if status not in (200, 503) or not isinstance(patroni, dict):
            raise RuntimeError("Patroni REST API answered " + str(status))
        if patroni.get("pending_restart") is True:
            return "restart", "Patroni reports pending_restart"
        return "none", ""

    def outdated_others(self):
        """Names of the other pods of the StatefulSet not (readably) on its updateRevision."""
        status, sts = self.k8s.call("GET", "/apis/apps/v1/namespaces/" + self.namespace + "/statefulsets/" + self.statefulset)
        if status != 200:
            return ["(cannot read the StatefulSet: " + str(status) + ")"]
        revision = (sts.get("status") or {}).get("updateRevision")
        out = []
        for i in range(self.members):
            name = self.statefulset + "-" + str(i)
            if name == self.pod:
                continue
            status, pod = self.k8s.call("GET", self.ns_path + "/pods/" + name)
            labels = {}
            if status == 200 and isinstance(pod, dict):
                labels = (pod.get("metadata") or {}).get("labels") or {}
            if labels.get("controller-revision-hash") != revision:
                out.append(name)
        return out

    # ---- health -------------------------------------------------------------------------
    def cluster(self):
        status, cluster = self.patroni.call("GET", "/cluster")
        return cluster if status == 200 and isinstance(cluster, dict) else None

    def unhealthy(self):
        """Why the cluster may not lose a member now; empty when healthy."""
        cluster = self.cluster()
        if cluster is None:
            return "Patroni REST API not answering"
        members = cluster.get("members") or []
        names = {m.get("name") for m in members}
        for i in range(self.members):
            if self.statefulset + "-" + str(i) not in names:
                return "member " + self.statefulset + "-" + str(i) + " is missing"
        for m in members:
            if m.get("state") not in ("running", "streaming"):
                return "member " + str(m.get("name")) + " is " + str(m.get("state"))
        leaders = [m for m in members if m.get("role") in LEADER_ROLES]
        if len(leaders) != 1:
            return str(len(leaders)) + " leaders"
        for m in members:
            if m.get("role") in LEADER_ROLES:
                continue
            lag = m.get("lag")
            if not isinstance(lag, int) or lag > self.lag_limit:
                return "member " + str(m.get("name")) + " lags " + str(lag) + " bytes (limit " + str(self.lag_limit) + ")"
        if self.members > 1 and not any(m.get("role") == "sync_standby" for m in members):
            return "no synchronous standby"
        return ""

    # ---- the lock -----------------------------------------------------------------------
    def lock(self):
        status, cm = self.k8s.call("GET", self.ns_path + "/configmaps/" + self.lock_name)
        if status != 200:
            raise RuntimeError("GET configmap " + self.lock_name + " answered " + str(status))
        return cm

    @staticmethod
    def holder_of(cm):
        data = cm.get("data") or {}
        return data.get("holder", ""), int(data.get("renewed", "0") or 0), data.get("action", "")

    def write_lock(self, cm, holder, action):
        """PUT with the read resourceVersion: status 409 when another pod wrote it first."""
        body = dict(cm)
        body["data"] = dict(cm.get("data") or {})
        body["data"].update({"holder": holder, "renewed": str(int(self.now)) if holder else "0", "action": action})
        status, _ = self.k8s.call("PUT", self.ns_path + "/configmaps/" + self.lock_name, body)
        return status == 200

    # ---- one run ------------------------------------------------------------------------
    def run(self):
        try:
            need, why = self.what_differs()
            cm = self.lock()
        except RuntimeError as e:
            log("cannot tell what differs (" + str(e) + "): waiting")
            return "waiting"
        if need != "replace":
            try:
                self.set_dcs_configuration()
            except (OSError, ValueError) as e:  # URLError is an OSError; the roll below still runs
                log("dynamic configuration not checked (" + str(e) + ")")
        holder, renewed, _ = self.holder_of(cm)
        expired = holder and self.now - renewed > self.lock_ttl
        if holder == self.pod:
            if need == "none":
                reason = self.unhealthy()
                if reason:
                    self.write_lock(cm, self.pod, "wait-healthy")
                    log(self.pod + " holds the roll lock, waiting until the cluster is healthy: " + reason)
                    return "waiting"
                if self.write_lock(cm, "", ""):
                    log(self.pod + " is done; roll lock released")
                return "released"
            if not self.write_lock(cm, self.pod, need):
                log("could not renew the roll lock: waiting")
                return "waiting"
            cm = self.lock()
        elif need == "none":
            return "none"
        paused = ((cm.get("metadata") or {}).get("annotations") or {}).get(PAUSE_ANNOTATION)
        if paused:
            log("paused (" + PAUSE_ANNOTATION + " = " + paused + "): " + need + " of " + self.pod + " waits (" + why + ")")
            return "paused"
        if holder != self.pod and not self.immediately and not in_window(self.now, *self.window):
            log(need + " of " + self.pod + " pending (" + why + "): waiting for the maintenance window")
            return "window"
        if holder and holder != self.pod and not expired:
            log(need + " of " + self.pod + " pending (" + why + "): " + holder + " is rolling")
            return "waiting"
        reason = self.unhealthy()
        if reason:
            log("roll paused, " + need + " of " + self.pod + " waits: cluster not healthy: " + reason)
            return "unhealthy"
        cluster = self.cluster() or {}
        me = next((m for m in cluster.get("members") or [] if m.get("name") == self.pod), {})
        primary = me.get("role") in LEADER_ROLES
        if primary:
            others = self.outdated_others()
            others += [m.get("name") for m in cluster.get("members") or [] if m.get("name") != self.pod and m.get("pending_restart")]
            if others:
                log("primary " + self.pod + " waits for the replicas first: " + " ".join(sorted(set(others))))
                return "waiting"
        if holder != self.pod:
            if not self.write_lock(cm, self.pod, need):
                log("another pod took the roll lock first: waiting")
                return "waiting"
            log(self.pod + " took the roll lock for " + need + " (" + why + ")")
        if primary and self.members > 1:
            sync = next((m.get("name") for m in cluster.get("members") or [] if m.get("role") == "sync_standby"), None)
            if not sync:
                log("primary " + self.pod + " has no synchronous standby to switch over to: waiting")
                return "waiting"
            log("switching over from " + self.pod + " to the synchronous standby " + sync + " before the " + need)
            status, answer = self.patroni.call("POST", "/switchover", {"leader": self.pod, "candidate": sync})
            if status != 200:
                log("the switchover failed (" + str(status) + " " + str(answer)[:200] + "): retrying next run")
            return "switchover"
        if need == "replace":
            log("evicting " + self.pod + " (" + why + "): the StatefulSet recreates it from the new template")
            body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": self.pod, "namespace": self.namespace}}
            status, answer = self.k8s.call("POST", self.ns_path + "/pods/" + self.pod + "/eviction", body)
            if status not in (200, 201):
                log("the eviction was refused (" + str(status) + ", e.g. the PodDisruptionBudget): retrying next run")
                return "waiting"
            return "evicted"
        log("restarting PostgreSQL on " + self.pod + " through Patroni (" + why + ")")
        status, answer = self.patroni.call("POST", "/restart", {})
        if status != 200:
            log("the restart failed (" + str(status) + "): retrying next run")
        return "restarted"


def main(argv):
    once = "--once" in argv
    fixed_now = float(argv[argv.index("--now") + 1]) if "--now" in argv else None
    interval = int(setting("INTERVAL", "60"))
    while True:
        agent = Agent(fixed_now if fixed_now is not None else time.time())
        try:
            agent.set_wal_limits()
        except (OSError, ValueError) as e:  # URLError is an OSError; the roll below still runs
            log("WAL limits not checked (" + str(e) + ")")
        outcome = agent.run()
        if once:
            print("outcome=" + outcome, flush=True)
            return 0
        time.sleep(interval)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
