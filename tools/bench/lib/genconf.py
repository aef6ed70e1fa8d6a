#!/usr/bin/python3
"""Generates the same service set for every scenario of the benchmark.

N services in total: N-1 filler ClusterIP services (port 80 -> 9090 on the four pods) and, last,
the target service the load goes to (ports 80 -> 8080, 81 -> 8081 for sockperf and 82 -> 5201 for
iperf3). The target is last on purpose: it is kube-proxy iptables mode's worst case (a linear
walk of KUBE-SERVICES).

  genconf.py iptables --services N --pods IP,... [--target-pods IP,...] [--partial] > rules
  genconf.py nft      --services N --pods IP,... [--target-pods IP,...] [--change] > rules.nft
  genconf.py k8s      --services N --pods IP,... [--target-pods IP,...] --dir DIR [--target-only]
                      [--vs one|many]
"""
import argparse
import base64
import hashlib
import os
import sys

NAMESPACE = "bench"
TARGET = "target"
TARGET_VIP = "10.97.0.10"
TARGET_PORTS = [("http", 80, 8080), ("ping", 81, 8081), ("bulk", 82, 5201)]
# Fillers point at port 9090 of the same pods, so a request sent to the wrong service is answered
# from :9090 and counted as misrouted.
FILLER_PORTS = [("http", 80, 9090)]


def filler_vip(i):
    # 10.96.0.0/16, skipping .0 and .255 of each /24; 10k services need 40 /24s.
    return "10.96.%d.%d" % (i // 250, i % 250 + 2)


def services(n, pods, target_pods):
    """[(name, vip, ports, endpoint ips)] in KUBE-SERVICES order, the target last."""
    out = [("svc-%05d" % i, filler_vip(i), FILLER_PORTS, pods) for i in range(n - 1)]
    out.append((TARGET, TARGET_VIP, TARGET_PORTS, target_pods))
    return out


def short_hash(*parts):
    # kube-proxy's naming: base32 of a SHA-256 over the identity, first 16 characters.
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return base64.b32encode(digest).decode()[:16]


def svc_chain(name, port_name):
    return "KUBE-SVC-" + short_hash(NAMESPACE, name, port_name, "tcp")


def sep_chain(name, port_name, ip, port):
    return "KUBE-SEP-" + short_hash(NAMESPACE, name, port_name, "tcp", ip, str(port))


def iptables_service_chains(name, ports, eps):
    """Declarations and rules of one service's KUBE-SVC/KUBE-SEP chains."""
    decl, rules = [], []
    for port_name, _, target_port in ports:
        svc = svc_chain(name, port_name)
        decl.append(":%s - [0:0]" % svc)
        for k, ip in enumerate(eps):
            sep = sep_chain(name, port_name, ip, target_port)
            decl.append(":%s - [0:0]" % sep)
            comment = '-m comment --comment "%s/%s:%s -> %s:%d"' % (
                NAMESPACE, name, port_name, ip, target_port)
            remaining = len(eps) - k
            if remaining > 1:
                rules.append("-A %s %s -m statistic --mode random --probability %.11f -j %s"
                             % (svc, comment, 1.0 / remaining, sep))
            else:
                rules.append("-A %s %s -j %s" % (svc, comment, sep))
            rules.append("-A %s %s -s %s/32 -j KUBE-MARK-MASQ" % (sep, comment, ip))
            rules.append("-A %s %s -p tcp -m tcp -j DNAT --to-destination %s:%d"
                         % (sep, comment, ip, target_port))
    return decl, rules


def kube_services_rules(svcs):
    rules = []
    for name, vip, ports, _ in svcs:
        for port_name, port, _ in ports:
            rules.append('-A KUBE-SERVICES -d %s/32 -p tcp -m comment --comment "%s/%s:%s cluster IP"'
                         ' -m tcp --dport %d -j %s' % (vip, NAMESPACE, name, port_name, port,
                                                       svc_chain(name, port_name)))
    return rules


def iptables(args):
    svcs = services(args.services, args.pods, args.target_pods)
    lines = ["*nat"]
    if not args.partial:
        # A full restore flushes the whole nat table, hooks included.
        decl = [":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
                ":POSTROUTING ACCEPT [0:0]", ":KUBE-SERVICES - [0:0]", ":KUBE-MARK-MASQ - [0:0]"]
        rules = ['-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
                 "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000"]
        for name, _, ports, eps in svcs:
            d, r = iptables_service_chains(name, ports, eps)
            decl += d
            rules += r
        lines += decl + kube_services_rules(svcs) + rules
    else:
        # kube-proxy's partial sync (MinimizeIPTablesRestore, used with --noflush): KUBE-SERVICES
        # is always rewritten in full, plus the chains of the changed service; chains of removed
        # endpoints are deleted at the end.
        name, _, ports, eps = svcs[-1]
        d, r = iptables_service_chains(name, ports, eps)
        stale = [sep_chain(name, port_name, ip, target_port)
                 for port_name, _, target_port in ports for ip in args.pods if ip not in eps]
        # A stale chain is declared (which flushes it) before it is deleted, as kube-proxy does.
        d += [":%s - [0:0]" % chain for chain in stale]
        lines += [":KUBE-SERVICES - [0:0]"] + d + kube_services_rules(svcs) + r
        lines += ["-X " + chain for chain in stale]
    lines.append("COMMIT")
    sys.stdout.write("\n".join(lines) + "\n")


def nft_names(name, port_name, eps, target_port):
    base = "%s-%s-%s-tcp-%s" % (short_hash(NAMESPACE, name, port_name)[:8], NAMESPACE, name, port_name)
    return "service-" + base, ["endpoint-%s-%s-%d" % (base, ip.replace(".", "-"), target_port)
                               for ip in eps]


def nft_service(name, ports, eps):
    out = []
    for port_name, _, target_port in ports:
        chain, ep_chains = nft_names(name, port_name, eps, target_port)
        for ip, ep in zip(eps, ep_chains):
            out.append("add chain ip kube-proxy %s" % ep)
            out.append("flush chain ip kube-proxy %s" % ep)
            out.append("add rule ip kube-proxy %s ip saddr %s jump mark-for-masquerade" % (ep, ip))
            out.append("add rule ip kube-proxy %s meta l4proto tcp dnat to %s:%d" % (ep, ip, target_port))
        out.append("add chain ip kube-proxy %s" % chain)
        out.append("flush chain ip kube-proxy %s" % chain)
        verdicts = ", ".join("%d : goto %s" % (k, ep) for k, ep in enumerate(ep_chains))
        out.append("add rule ip kube-proxy %s numgen random mod %d vmap { %s }"
                   % (chain, len(ep_chains), verdicts))
    return out


def nft(args):
    svcs = services(args.services, args.pods, args.target_pods)
    name, vip, ports, eps = svcs[-1]
    if args.change:
        # One endpoint change is O(1) in kube-proxy's nftables mode: rewrite the service chain in
        # the same transaction that adds/removes endpoint chains.
        out = nft_service(name, ports, eps)
        for port_name, _, target_port in ports:
            _, all_eps = nft_names(name, port_name, args.pods, target_port)
            _, kept = nft_names(name, port_name, eps, target_port)
            out += ["delete chain ip kube-proxy %s" % ep for ep in all_eps if ep not in kept]
        sys.stdout.write("\n".join(out) + "\n")
        return
    out = ["table ip kube-proxy {}", "delete table ip kube-proxy", "add table ip kube-proxy",
           "add chain ip kube-proxy mark-for-masquerade",
           "add rule ip kube-proxy mark-for-masquerade mark set mark or 0x4000",
           "add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }",
           "add chain ip kube-proxy services",
           "add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips",
           "add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority dstnat ; }",
           "add rule ip kube-proxy nat-prerouting jump services"]
    elements = []
    for sname, svip, sports, seps in svcs:
        out += nft_service(sname, sports, seps)
        for port_name, port, target_port in sports:
            chain, _ = nft_names(sname, port_name, seps, target_port)
            elements.append("%s . tcp . %d : goto %s" % (svip, port, chain))
    for i in range(0, len(elements), 1000):
        out.append("add element ip kube-proxy service-ips { %s }" % ", ".join(elements[i:i + 1000]))
    sys.stdout.write("\n".join(out) + "\n")


def k8s_service(name, vip, ports, eps):
    port_lines = "".join("  - {name: %s, protocol: TCP, port: %d, targetPort: %d}\n" % (pn, p, tp)
                         for pn, p, tp in ports)
    ep_ports = "".join("- {name: %s, protocol: TCP, port: %d}\n" % (pn, tp) for pn, _, tp in ports)
    endpoints = "".join(
        "- addresses: [%s]\n  conditions: {ready: true}\n"
        "  targetRef: {kind: Pod, namespace: %s, name: server-%d}\n" % (ip, NAMESPACE, int(ip.split(".")[-1]))
        for ip in eps)
    return ("apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: %s}\n"
            "spec:\n  type: ClusterIP\n  clusterIP: %s\n  ports:\n%s---\n"
            "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
            "metadata:\n  name: %s-bench\n  namespace: %s\n  labels: {kubernetes.io/service-name: %s}\n"
            "addressType: IPv4\nports:\n%sendpoints:\n%s---\n"
            % (name, NAMESPACE, vip, port_lines, name, NAMESPACE, name, ep_ports, endpoints))


def fqdn(name):
    return "%s.%s.svc.cluster.local" % (name, NAMESPACE)


def virtual_services(svcs, kind):
    """VirtualServices that make HTTP ports go through the Sluice proxy.

    one:  the target only, one route whose match (uri prefix /) matches every request; a match
          block is a request predicate, so the frontend is L7 although the route is trivial.
    many: the same plus one VirtualService per filler service (1,000 with N = 1,001): header and
          regex matches, retries configured (never triggered: the pods answer 200), fault at 0 %.
    """
    def route(name):
        return "    route: [{destination: {host: %s, port: {number: 80}}}]\n" % fqdn(name)

    def header(name):
        return ("apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
                "metadata: {name: %s, namespace: %s}\nspec:\n  hosts: [%s]\n  http:\n"
                % (name, NAMESPACE, fqdn(name)))

    docs = []
    if kind == "many":
        for i, (name, _, _, _) in enumerate(svcs[:-1]):
            docs.append(header(name) +
                        "  - match:\n    - headers: {x-user: {exact: \"u%d\"}}\n"
                        "    - uri: {regex: \"/api/v[0-9]+/items/%d(/.*)?\"}\n" % (i, i) + route(name) +
                        "    retries: {attempts: 2, perTryTimeout: 1s, retryOn: \"connect-failure,refused-stream\"}\n"
                        "    fault: {abort: {percentage: {value: 0}, httpStatus: 503}}\n"
                        "  - match:\n    - uri: {prefix: /}\n" + route(name))
        docs.append(header(TARGET) +
                    "  - match:\n    - headers: {x-canary: {exact: \"true\"}}\n" + route(TARGET) +
                    "  - match:\n    - uri: {regex: \"/admin/.*\"}\n" + route(TARGET) +
                    "  - match:\n    - uri: {prefix: /}\n" + route(TARGET) +
                    "    retries: {attempts: 2, perTryTimeout: 1s, retryOn: \"connect-failure,refused-stream\"}\n")
    else:
        docs.append(header(TARGET) + "  - match:\n    - uri: {prefix: /}\n" + route(TARGET))
    return "---\n".join(docs)


def write_atomically(path, text):
    # The agent watches the directory: a rename makes the change appear all at once.
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def k8s(args):
    svcs = services(args.services, args.pods, args.target_pods)
    name, vip, ports, eps = svcs[-1]
    write_atomically(os.path.join(args.dir, "target.yaml"), k8s_service(name, vip, ports, eps))
    if args.target_only:
        return
    write_atomically(os.path.join(args.dir, "services.yaml"),
                     "".join(k8s_service(*s) for s in svcs[:-1]))
    pods = "".join(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: server-%d\n  namespace: %s\n  labels: {app: server}\n"
        "spec:\n  containers:\n  - name: server\n    ports: [{name: http, containerPort: 8080}, {name: ping, containerPort: 8081}, {name: filler, containerPort: 9090}]\n"
        "status: {phase: Running, podIP: %s, podIPs: [{ip: %s}]}\n---\n"
        % (int(ip.split(".")[-1]), NAMESPACE, ip, ip) for ip in args.pods)
    pods += ("apiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: %s, labels: {app: client}}\n"
             "status: {phase: Running, podIP: %s, podIPs: [{ip: %s}]}\n" % (NAMESPACE, args.client_ip, args.client_ip))
    write_atomically(os.path.join(args.dir, "pods.yaml"), pods)
    if args.vs:
        write_atomically(os.path.join(args.dir, "virtualservices.yaml"), virtual_services(svcs, args.vs))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", choices=["iptables", "nft", "k8s"])
    p.add_argument("--services", type=int, required=True)
    p.add_argument("--pods", required=True, type=lambda s: s.split(","))
    p.add_argument("--target-pods", type=lambda s: s.split(","))
    p.add_argument("--partial", action="store_true", help="iptables: kube-proxy partial sync (--noflush)")
    p.add_argument("--change", action="store_true", help="nft: only the target's change")
    p.add_argument("--dir", help="k8s: config directory")
    p.add_argument("--target-only", action="store_true", help="k8s: rewrite only target.yaml")
    p.add_argument("--client-ip", default="10.200.1.2")
    p.add_argument("--vs", choices=["one", "many"], help="k8s: also write VirtualServices (S4, S4x)")
    args = p.parse_args()
    if args.services < 1:
        p.error("--services must be >= 1")
    args.target_pods = args.target_pods or args.pods
    {"iptables": iptables, "nft": nft, "k8s": k8s}[args.kind](args)


if __name__ == "__main__":
    main()
