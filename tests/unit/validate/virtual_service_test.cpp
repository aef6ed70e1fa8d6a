// VirtualService rules, both directions, ported from istio/istio pkg/config/validation
// (validation_test.go TestValidateVirtualService, TestValidateHTTPRoute, TestValidateHTTPRetry, ...,
// virtualservice_test.go). Each case mutates the smallest valid VirtualService.
#include <sluice/validate/validate.h>

#include "test_util.h"

namespace sluice::validate::testing {
namespace {

using VS = model::VirtualService;
using C = Case<VS>;

model::HTTPRoute& h0(VS& v) {
  return v.spec.http[0];
}

model::HTTPMatchRequest& addMatch(VS& v) {
  return h0(v).match.emplace_back();
}

model::HeaderOperations& reqOps(VS& v) {
  auto& h = h0(v).headers;
  if (!h)
    h.emplace();
  if (!h->request)
    h->request.emplace();
  return *h->request;
}

model::HeaderOperations& respOps(VS& v) {
  auto& h = h0(v).headers;
  if (!h)
    h.emplace();
  if (!h->response)
    h->response.emplace();
  return *h->response;
}

model::HTTPRetry& retries(VS& v) {
  if (!h0(v).retries)
    h0(v).retries.emplace();
  return *h0(v).retries;
}

void redirectOnly(VS& v) {
  h0(v).route.clear();
  h0(v).redirect.emplace();
  h0(v).redirect->uri = "/lerp";
  h0(v).redirect->authority = "foo.biz";
}

model::TLSRoute tlsRoute(std::vector<std::string> sni) {
  model::TLSRoute t;
  model::TLSMatchAttributes m;
  m.port = 999;
  m.sniHosts = std::move(sni);
  t.match.push_back(m);
  t.route.push_back(l4Dest("foo.baz"));
  return t;
}

const std::vector<C>& cases() {
  static const std::vector<C> kCases = {
      // ---- hosts, gateways, top level (TestValidateVirtualService)
      {"simple", [](VS&) {}, Verdict::Valid, ""},
      {"duplicate hosts", [](VS& v) { v.spec.hosts = {"*.foo.bar", "*.bar"}; }, Verdict::Invalid, "spec.hosts[1]"},
      {"literal duplicate hosts", [](VS& v) { v.spec.hosts = {"a.b", "a.b"}; }, Verdict::Invalid, "spec.hosts[1]"},
      {"bad host", [](VS& v) { v.spec.hosts = {"foo.ba!r"}; }, Verdict::Invalid, "spec.hosts[0]"},
      {"ip host", [](VS& v) { v.spec.hosts = {"10.0.0.1"}; }, Verdict::Valid, ""},
      {"no routes", [](VS& v) { v.spec.http.clear(); }, Verdict::Invalid, "spec.http"},
      {"destination without host", [](VS& v) { h0(v).route[0].destination.host = ""; }, Verdict::Invalid,
       "spec.http[0].route[0].destination.host"},
      {"delegate with no hosts", [](VS& v) { v.spec.hosts.clear(); }, Verdict::Valid, ""},
      {"bad gateway", [](VS& v) { v.spec.gateways = {"b@dgateway"}; }, Verdict::Invalid, "spec.gateways[0]"},
      {"FQDN gateway warns", [](VS& v) { v.spec.gateways = {"gateway.example.com"}; }, Verdict::Warning,
       "spec.gateways[0]"},
      {"namespace/name gateway", [](VS& v) { v.spec.gateways = {"ns1/gateway"}; }, Verdict::Valid, ""},
      {"namespace/* gateway", [](VS& v) { v.spec.gateways = {"ns1/*"}; }, Verdict::Invalid, "spec.gateways[0]"},
      {"*/name gateway", [](VS& v) { v.spec.gateways = {"*/gateway"}; }, Verdict::Invalid, "spec.gateways[0]"},
      {"empty namespace in gateway", [](VS& v) { v.spec.gateways = {"/gw"}; }, Verdict::Invalid, "spec.gateways[0]"},
      {"wildcard host for mesh", [](VS& v) { v.spec.hosts = {"*"}; }, Verdict::Invalid, "spec.hosts[0]"},
      {"wildcard host with explicit mesh", [](VS& v) { v.spec.hosts = {"*"}; v.spec.gateways = {"mesh"}; },
       Verdict::Invalid, "spec.hosts[0]"},
      {"wildcard host for gateway", [](VS& v) { v.spec.hosts = {"*"}; v.spec.gateways = {"somegateway"}; },
       Verdict::Valid, ""},
      {"missing tcp route",
       [](VS& v) {
         v.spec.http.clear();
         model::TCPRoute t;
         t.match.emplace_back().port = 999;
         v.spec.tcp.push_back(t);
       },
       Verdict::Invalid, "spec.tcp[0].route"},
      {"missing tls route",
       [](VS& v) {
         v.spec.http.clear();
         auto t = tlsRoute({"foo.bar"});
         t.route.clear();
         v.spec.tls.push_back(t);
       },
       Verdict::Invalid, "spec.tls[0].route"},
      {"deprecated mirrorPercent warns",
       [](VS& v) {
         v.spec.gateways = {"ns1/gateway"};
         h0(v).mirrorPercent = 5;
       },
       Verdict::Warning, "spec.http[0].mirrorPercent"},
      {"set authority header", [](VS& v) { reqOps(v).set[":authority"] = "foo"; }, Verdict::Valid, ""},
      {"set authority in destination",
       [](VS& v) {
         auto& hd = h0(v).route[0].headers.emplace();
         hd.request.emplace().set[":authority"] = "foo";
       },
       Verdict::Valid, ""},
      {"authority in rewrite and header",
       [](VS& v) {
         reqOps(v).set[":authority"] = "foo";
         h0(v).rewrite.emplace().authority = "bar";
       },
       Verdict::Invalid, "spec.http[0].headers.request.set.:authority"},
      {"authority set and added",
       [](VS& v) {
         reqOps(v).set["host"] = "foo";
         reqOps(v).add[":authority"] = "bar";
       },
       Verdict::Invalid, "spec.http[0].headers.request.add.:authority"},
      {"overlapping prefix with method warns",
       [](VS& v) {
         addMatch(v).uri = prefix("/api/v1/product");
         auto& m = addMatch(v);
         m.uri = prefix("/api/v1/products");
         m.method = exact("GET");
       },
       Verdict::Warning, "spec.http[0].match[1]"},
      {"prefix / and exact / do not overlap",
       [](VS& v) {
         addMatch(v).uri = prefix("/");
         auto& m = addMatch(v);
         m.uri = exact("/");
         m.method = exact("GET");
       },
       Verdict::Valid, ""},
      {"jwt claim route for mesh",
       [](VS& v) {
         v.spec.gateways = {"mesh"};
         auto& m = addMatch(v);
         m.uri = prefix("/");
         m.headers["@request.auth.claims.foo"] = exact("bar");
       },
       Verdict::Invalid, "spec.http[0].match[0].headers.@request.auth.claims.foo"},
      {"jwt claim route for gateway",
       [](VS& v) {
         v.spec.gateways = {"ns1/gw"};
         addMatch(v).headers["@request.auth.claims[foo]"] = exact("bar");
       },
       Verdict::Valid, ""},
      {"ip address as sni host warns",
       [](VS& v) {
         v.spec.http.clear();
         v.spec.tls.push_back(tlsRoute({"1.1.1.1"}));
       },
       Verdict::Warning, "spec.tls[0].match[0].sniHosts[0]"},
      {"invalid wildcard sni host",
       [](VS& v) {
         v.spec.http.clear();
         v.spec.tls.push_back(tlsRoute({"foo.*.com"}));
       },
       Verdict::Invalid, "spec.tls[0].match[0].sniHosts[0]"},
      {"sni host outside the hosts",
       [](VS& v) {
         v.spec.http.clear();
         v.spec.tls.push_back(tlsRoute({"other.com"}));
       },
       Verdict::Invalid, "spec.tls[0].match[0].sniHosts[0]"},
      {"sni host within a wildcard host",
       [](VS& v) {
         v.spec.hosts = {"*.bar"};
         v.spec.http.clear();
         v.spec.tls.push_back(tlsRoute({"foo.bar"}));
       },
       Verdict::Valid, ""},
      {"tls route without match",
       [](VS& v) {
         v.spec.http.clear();
         auto t = tlsRoute({"foo.bar"});
         t.match.clear();
         v.spec.tls.push_back(t);
       },
       Verdict::Invalid, "spec.tls[0].match"},
      {"tls match without sni",
       [](VS& v) {
         v.spec.http.clear();
         v.spec.tls.push_back(tlsRoute({}));
       },
       Verdict::Invalid, "spec.tls[0].match[0].sniHosts"},
      {"auto-generated sni domain on a gateway",
       [](VS& v) {
         v.spec.hosts = {"outbound_.15010_._.istiod.istio-system.svc.cluster.local"};
         v.spec.gateways = {"ns1/gateway"};
         v.spec.http.clear();
         v.spec.tls.push_back(tlsRoute({"outbound_.15010_._.istiod.istio-system.svc.cluster.local"}));
       },
       Verdict::Valid, ""},
      {"bad tcp subnet",
       [](VS& v) {
         v.spec.http.clear();
         model::TCPRoute t;
         t.match.emplace_back().destinationSubnets = {"1.1.1.1/48"};
         t.route.push_back(l4Dest("foo.baz"));
         v.spec.tcp.push_back(t);
       },
       Verdict::Invalid, "spec.tcp[0].match[0].destinationSubnets[0]"},
      {"good tcp subnets",
       [](VS& v) {
         v.spec.http.clear();
         model::TCPRoute t;
         t.match.emplace_back().destinationSubnets = {"1.1.1.1/24", "2001:1::1/64", "10.0.0.1"};
         t.route.push_back(l4Dest("foo.baz"));
         v.spec.tcp.push_back(t);
       },
       Verdict::Valid, ""},
      {"bad tcp port",
       [](VS& v) {
         v.spec.http.clear();
         model::TCPRoute t;
         t.match.emplace_back().port = 70000;
         t.route.push_back(l4Dest("foo.baz"));
         v.spec.tcp.push_back(t);
       },
       Verdict::Invalid, "spec.tcp[0].match[0].port"},
      {"tcp total weight 0",
       [](VS& v) {
         v.spec.http.clear();
         model::TCPRoute t;
         t.route = {l4Dest("a.b"), l4Dest("c.d")};
         v.spec.tcp.push_back(t);
       },
       Verdict::Invalid, "spec.tcp[0].route"},

      // ---- delegation (virtualservice_test.go)
      {"root delegate", [](VS& v) { h0(v).route.clear(); h0(v).delegate = model::Delegate{"test", "test"}; },
       Verdict::Valid, ""},
      {"root with delegate and route", [](VS& v) { h0(v).delegate = model::Delegate{"test", "test"}; },
       Verdict::Invalid, "spec.http[0].route"},
      {"root with delegate and redirect",
       [](VS& v) {
         redirectOnly(v);
         h0(v).delegate = model::Delegate{"test", "test"};
       },
       Verdict::Invalid, "spec.http[0].redirect"},
      {"delegate with no destination", [](VS& v) { v.spec.hosts.clear(); h0(v).route.clear(); }, Verdict::Invalid,
       "spec.http[0].route"},
      {"delegate with delegate",
       [](VS& v) {
         v.spec.hosts.clear();
         h0(v).route.clear();
         h0(v).delegate = model::Delegate{"test", "test"};
       },
       Verdict::Invalid, "spec.http[0].delegate"},
      {"delegate with tcp",
       [](VS& v) {
         v.spec.hosts.clear();
         model::TCPRoute t;
         t.route.push_back(l4Dest("foo.baz"));
         v.spec.tcp.push_back(t);
       },
       Verdict::Invalid, "spec.tcp"},
      {"delegate with gateway", [](VS& v) { v.spec.hosts.clear(); v.spec.gateways = {"test"}; }, Verdict::Invalid,
       "spec.gateways"},
      {"delegate with sourceNamespace", [](VS& v) { v.spec.hosts.clear(); addMatch(v).sourceNamespace = "test"; },
       Verdict::Valid, ""},

      // ---- HTTP route actions (TestValidateHTTPRoute)
      {"empty route", [](VS& v) { h0(v).route.clear(); }, Verdict::Invalid, "spec.http[0].route"},
      {"weighted", [](VS& v) { h0(v).route = {httpDest("foo.baz.south", 25), httpDest("foo.baz.east", 75)}; },
       Verdict::Valid, ""},
      {"total weight over 100", [](VS& v) { h0(v).route = {httpDest("a.south", 550), httpDest("a.east", 500)}; },
       Verdict::Valid, ""},
      {"total weight under 100", [](VS& v) { h0(v).route = {httpDest("a.south", 49), httpDest("a.east", 50)}; },
       Verdict::Valid, ""},
      {"negative weight", [](VS& v) { h0(v).route = {httpDest("a.south", 5), httpDest("a.east", -1)}; },
       Verdict::Invalid, "spec.http[0].route[1].weight"},
      {"total weight 0", [](VS& v) { h0(v).route = {httpDest("a.south"), httpDest("a.east")}; }, Verdict::Invalid,
       "spec.http[0].route"},
      {"single weight 0", [](VS& v) { h0(v).route[0].weight = 0; }, Verdict::Valid, ""},
      {"simple redirect", redirectOnly, Verdict::Valid, ""},
      {"redirect and route",
       [](VS& v) {
         redirectOnly(v);
         h0(v).route.push_back(httpDest("foo.baz"));
       },
       Verdict::Invalid, "spec.http[0].route"},
      {"redirect and fault",
       [](VS& v) {
         redirectOnly(v);
         h0(v).fault.emplace().abort.emplace().httpStatus = 500;
       },
       Verdict::Invalid, "spec.http[0].fault"},
      {"redirect and rewrite",
       [](VS& v) {
         redirectOnly(v);
         h0(v).rewrite.emplace().uri = "/x";
       },
       Verdict::Invalid, "spec.http[0].rewrite"},
      {"redirect and direct response",
       [](VS& v) {
         redirectOnly(v);
         h0(v).directResponse.emplace().status = 200;
       },
       Verdict::Invalid, "spec.http[0].directResponse"},
      {"direct response alone",
       [](VS& v) {
         h0(v).route.clear();
         h0(v).directResponse.emplace().status = 503;
       },
       Verdict::Valid, ""},
      {"direct response and route", [](VS& v) { h0(v).directResponse.emplace().status = 200; }, Verdict::Invalid,
       "spec.http[0].route"},
      {"direct response and rewrite",
       [](VS& v) {
         h0(v).route.clear();
         h0(v).directResponse.emplace().status = 200;
         h0(v).rewrite.emplace().uri = "/x";
       },
       Verdict::Invalid, "spec.http[0].rewrite"},
      {"mirror and mirrors",
       [](VS& v) {
         h0(v).mirror = model::Destination{"foo.baz", "", std::nullopt};
         h0(v).mirrors.emplace_back().destination.host = "foo.bar";
       },
       Verdict::Invalid, "spec.http[0].mirrors"},

      // ---- header operations
      {"valid header operations",
       [](VS& v) {
         auto& hd = h0(v).route[0].headers.emplace();
         hd.request.emplace();
         hd.request->add["name"] = "";
         hd.request->set["name"] = "";
         hd.request->remove = {"name"};
         hd.response = hd.request;
       },
       Verdict::Valid, ""},
      {"empty header name request add", [](VS& v) { reqOps(v).add[""] = "value"; }, Verdict::Invalid,
       "spec.http[0].headers.request.add."},
      {"empty header name request set", [](VS& v) { reqOps(v).set[""] = "value"; }, Verdict::Invalid,
       "spec.http[0].headers.request.set."},
      {"empty header name request remove", [](VS& v) { reqOps(v).remove = {""}; }, Verdict::Invalid,
       "spec.http[0].headers.request.remove[0]"},
      {"empty header name response add", [](VS& v) { respOps(v).add[""] = "value"; }, Verdict::Invalid,
       "spec.http[0].headers.response.add."},
      {"empty header name response set", [](VS& v) { respOps(v).set[""] = "value"; }, Verdict::Invalid,
       "spec.http[0].headers.response.set."},
      {"empty header name response remove", [](VS& v) { respOps(v).remove = {""}; }, Verdict::Invalid,
       "spec.http[0].headers.response.remove[0]"},
      {"empty header name in destination",
       [](VS& v) { h0(v).route[0].headers.emplace().request.emplace().add[""] = "v"; }, Verdict::Invalid,
       "spec.http[0].route[0].headers.request.add."},
      {"pseudo header set", [](VS& v) { reqOps(v).set[":path"] = "/x"; }, Verdict::Invalid,
       "spec.http[0].headers.request.set.:path"},
      {"host removed", [](VS& v) { reqOps(v).remove = {"Host"}; }, Verdict::Invalid,
       "spec.http[0].headers.request.remove[0]"},
      {"host set on response", [](VS& v) { respOps(v).set["host"] = "x"; }, Verdict::Invalid,
       "spec.http[0].headers.response.set.host"},
      {"escaped percent", [](VS& v) { respOps(v).set["i-love-istio"] = "100%%"; }, Verdict::Valid, ""},
      {"envoy variable", [](VS& v) { respOps(v).set["name"] = "%HOSTNAME%"; }, Verdict::Valid, ""},
      {"unescaped percent set", [](VS& v) { respOps(v).set["name"] = "abcd%oijasodifj"; }, Verdict::Invalid,
       "spec.http[0].headers.response.set.name"},
      {"escaped percent add", [](VS& v) { respOps(v).add["i-love-istio"] = "100%% and more"; }, Verdict::Valid, ""},
      {"variable add", [](VS& v) { respOps(v).add["name"] = "hello %HOSTNAME%"; }, Verdict::Valid, ""},
      {"unescaped percent add", [](VS& v) { respOps(v).add["name"] = "abcd%oijasodifj"; }, Verdict::Invalid,
       "spec.http[0].headers.response.add.name"},
      {"control char in value", [](VS& v) { reqOps(v).set["x"] = "a\nb"; }, Verdict::Invalid,
       "spec.http[0].headers.request.set.x"},

      // ---- matches
      {"empty prefix header match", [](VS& v) { addMatch(v).headers["emptyprefix"] = prefix(""); },
       Verdict::Invalid, "spec.http[0].match[0].headers.emptyprefix"},
      {"prefix header match", [](VS& v) { addMatch(v).headers["header"] = prefix("test"); }, Verdict::Valid, ""},
      {"presence header match", [](VS& v) { addMatch(v).headers["header"] = model::StringMatch{}; },
       Verdict::Valid, ""},
      {"invalid header name", [](VS& v) { addMatch(v).headers["illegal\"char"] = exact("x"); }, Verdict::Invalid,
       "spec.http[0].match[0].headers.illegal\"char"},
      {"pseudo header match", [](VS& v) { addMatch(v).headers[":authority"] = exact("x"); }, Verdict::Valid, ""},
      {"double colon header", [](VS& v) { addMatch(v).headers["::"] = exact("x"); }, Verdict::Invalid,
       "spec.http[0].match[0].headers.::"},
      {"regex header match", [](VS& v) { addMatch(v).headers["header"] = regex("test"); }, Verdict::Valid, ""},
      {"star regex header match", [](VS& v) { addMatch(v).headers["header"] = regex("*"); }, Verdict::Invalid,
       "spec.http[0].match[0].headers.header"},
      {"withoutHeaders exact", [](VS& v) { addMatch(v).withoutHeaders["header"] = exact("test"); }, Verdict::Valid,
       ""},
      {"withoutHeaders regex ?", [](VS& v) { addMatch(v).withoutHeaders["header"] = regex("?"); }, Verdict::Invalid,
       "spec.http[0].match[0].withoutHeaders.header"},
      {"withoutHeaders regex * means presence", [](VS& v) { addMatch(v).withoutHeaders["header"] = regex("*"); },
       Verdict::Valid, ""},
      {"regex uri", [](VS& v) { addMatch(v).uri = regex("test"); }, Verdict::Valid, ""},
      {"empty prefix in uri", [](VS& v) { addMatch(v).uri = prefix(""); }, Verdict::Valid, ""},
      {"empty regex in uri", [](VS& v) { addMatch(v).uri = regex(""); }, Verdict::Invalid,
       "spec.http[0].match[0].uri"},
      {"bad regex in uri", [](VS& v) { addMatch(v).uri = regex("(abc"); }, Verdict::Invalid,
       "spec.http[0].match[0].uri"},
      {"regex too long", [](VS& v) { addMatch(v).uri = regex(std::string(1025, 'a')); }, Verdict::Invalid,
       "spec.http[0].match[0].uri"},
      {"regex at the length limit", [](VS& v) { addMatch(v).uri = regex(std::string(1024, 'a')); }, Verdict::Valid,
       ""},
      {"empty prefix in method", [](VS& v) { addMatch(v).method = prefix(""); }, Verdict::Invalid,
       "spec.http[0].match[0].method"},
      {"empty regex in method", [](VS& v) { addMatch(v).method = regex(""); }, Verdict::Invalid,
       "spec.http[0].match[0].method"},
      {"empty prefix in scheme", [](VS& v) { addMatch(v).scheme = prefix(""); }, Verdict::Invalid,
       "spec.http[0].match[0].scheme"},
      {"empty regex in scheme", [](VS& v) { addMatch(v).scheme = regex(""); }, Verdict::Invalid,
       "spec.http[0].match[0].scheme"},
      {"empty prefix in authority", [](VS& v) { addMatch(v).authority = prefix(""); }, Verdict::Invalid,
       "spec.http[0].match[0].authority"},
      {"empty regex in query", [](VS& v) { addMatch(v).queryParams["q"] = regex(""); }, Verdict::Invalid,
       "spec.http[0].match[0].queryParams.q"},
      {"prefix query", [](VS& v) { addMatch(v).queryParams["q"] = prefix("test"); }, Verdict::Valid, ""},
      {"match port out of range", [](VS& v) { addMatch(v).port = 65536; }, Verdict::Invalid,
       "spec.http[0].match[0].port"},
      {"match port", [](VS& v) { addMatch(v).port = 8080; }, Verdict::Valid, ""},
      {"bad source label key", [](VS& v) { addMatch(v).sourceLabels["-bad"] = "x"; }, Verdict::Invalid,
       "spec.http[0].match[0].sourceLabels.-bad"},
      {"bad source label value", [](VS& v) { addMatch(v).sourceLabels["app"] = "a b"; }, Verdict::Invalid,
       "spec.http[0].match[0].sourceLabels.app"},
      {"good source labels", [](VS& v) { addMatch(v).sourceLabels["app.kubernetes.io/name"] = "x_y.z"; },
       Verdict::Valid, ""},
      {"bad sourceNamespace", [](VS& v) { addMatch(v).sourceNamespace = "not_valid"; }, Verdict::Invalid,
       "spec.http[0].match[0].sourceNamespace"},
      {"bad match gateway", [](VS& v) { addMatch(v).gateways = {"ns/b@d"}; }, Verdict::Invalid,
       "spec.http[0].match[0].gateways[0]"},

      // ---- mirrors
      {"mirrorPercent over 100",
       [](VS& v) { h0(v).mirrorPercent = 101; }, Verdict::Invalid, "spec.http[0].mirrorPercent"},
      {"mirrorPercentage over 100", [](VS& v) { h0(v).mirrorPercentage = 101; }, Verdict::Invalid,
       "spec.http[0].mirrorPercentage.value"},
      {"mirrorPercentage", [](VS& v) { h0(v).mirrorPercentage = 1; }, Verdict::Valid, ""},
      {"negative mirrorPercentage", [](VS& v) { h0(v).mirrorPercentage = -1; }, Verdict::Invalid,
       "spec.http[0].mirrorPercentage.value"},
      {"mirrors without destination", [](VS& v) { h0(v).mirrors.emplace_back(); }, Verdict::Invalid,
       "spec.http[0].mirrors[0].destination.host"},
      {"mirrors percentage over 100",
       [](VS& v) {
         h0(v).mirrors.emplace_back().destination.host = "foo.baz";
         auto& m = h0(v).mirrors.emplace_back();
         m.destination.host = "foo.baz";
         m.percentage = 101;
       },
       Verdict::Invalid, "spec.http[0].mirrors[1].percentage.value"},
      {"mirrors percentages",
       [](VS& v) {
         auto& a = h0(v).mirrors.emplace_back();
         a.destination.host = "foo.baz";
         a.percentage = 1;
         auto& b = h0(v).mirrors.emplace_back();
         b.destination.host = "foo.baz";
         b.percentage = 50;
       },
       Verdict::Valid, ""},
      {"mirrors negative percentage",
       [](VS& v) {
         auto& m = h0(v).mirrors.emplace_back();
         m.destination.host = "foo.baz";
         m.percentage = -1;
       },
       Verdict::Invalid, "spec.http[0].mirrors[0].percentage.value"},
      {"mirror with bad host", [](VS& v) { h0(v).mirror = model::Destination{"*", "", std::nullopt}; },
       Verdict::Invalid, "spec.http[0].mirror.host"},

      // ---- destinations (TestValidateDestination, TestValidateRouteDestination)
      {"wildcard dash destination", [](VS& v) { h0(v).route[0].destination.host = "*-foo.baz"; }, Verdict::Valid,
       ""},
      {"wildcard prefix destination", [](VS& v) { h0(v).route[0].destination.host = "*foo.baz"; }, Verdict::Valid,
       ""},
      {"* destination", [](VS& v) { h0(v).route[0].destination.host = "*"; }, Verdict::Invalid,
       "spec.http[0].route[0].destination.host"},
      {"bad wildcard destination", [](VS& v) { h0(v).route[0].destination.host = "foo.*"; }, Verdict::Invalid,
       "spec.http[0].route[0].destination.host"},
      {"slash in destination", [](VS& v) { h0(v).route[0].destination.host = "default/baz"; }, Verdict::Invalid,
       "spec.http[0].route[0].destination.host"},
      {"full destination",
       [](VS& v) {
         h0(v).route[0].destination.subset = "shiny";
         h0(v).route[0].destination.port = 5000;
       },
       Verdict::Valid, ""},
      {"unnumbered port selector", [](VS& v) { h0(v).route[0].destination.port = 0; }, Verdict::Invalid,
       "spec.http[0].route[0].destination.port.number"},
      {"bad subset name", [](VS& v) { h0(v).route[0].destination.subset = "v1_x"; }, Verdict::Invalid,
       "spec.http[0].route[0].destination.subset"},

      // ---- CORS (TestValidateCORSPolicy)
      {"cors",
       [](VS& v) {
         auto& c = h0(v).corsPolicy.emplace();
         c.allowMethods = {"GET", "POST"};
         c.allowHeaders = {"header1", "header2"};
         c.exposeHeaders = {"header3"};
         c.maxAge = sec(2);
         c.allowOrigins = {exact("exact"), prefix("prefix"), regex("regex")};
       },
       Verdict::Valid, ""},
      {"cors bad method", [](VS& v) { h0(v).corsPolicy.emplace().allowMethods = {"GET", "PUTT"}; },
       Verdict::Invalid, "spec.http[0].corsPolicy.allowMethods[1]"},
      {"cors empty expose header", [](VS& v) { h0(v).corsPolicy.emplace().exposeHeaders = {""}; },
       Verdict::Invalid, "spec.http[0].corsPolicy.exposeHeaders[0]"},
      {"cors wildcard header", [](VS& v) { h0(v).corsPolicy.emplace().allowHeaders = {"*"}; }, Verdict::Valid, ""},
      {"cors sub-second max age", [](VS& v) { h0(v).corsPolicy.emplace().maxAge = sec(2) + std::chrono::nanoseconds(42); },
       Verdict::Invalid, "spec.http[0].corsPolicy.maxAge"},
      {"cors empty exact origin", [](VS& v) { h0(v).corsPolicy.emplace().allowOrigins = {exact("")}; },
       Verdict::Invalid, "spec.http[0].corsPolicy.allowOrigins[0]"},
      {"cors empty regex origin", [](VS& v) { h0(v).corsPolicy.emplace().allowOrigins = {regex("")}; },
       Verdict::Invalid, "spec.http[0].corsPolicy.allowOrigins[0]"},

      // ---- fault (TestValidateHTTPFaultInjectionAbort/Delay)
      {"fault without abort or delay", [](VS& v) { h0(v).fault.emplace(); }, Verdict::Invalid, "spec.http[0].fault"},
      {"abort",
       [](VS& v) {
         auto& a = h0(v).fault.emplace().abort.emplace();
         a.percentage = 20;
         a.httpStatus = 200;
       },
       Verdict::Valid, ""},
      {"abort default percentage", [](VS& v) { h0(v).fault.emplace().abort.emplace().httpStatus = 200; },
       Verdict::Valid, ""},
      {"abort status 9000", [](VS& v) { h0(v).fault.emplace().abort.emplace().httpStatus = 9000; }, Verdict::Invalid,
       "spec.http[0].fault.abort.httpStatus"},
      {"abort status 100", [](VS& v) { h0(v).fault.emplace().abort.emplace().httpStatus = 100; }, Verdict::Invalid,
       "spec.http[0].fault.abort.httpStatus"},
      {"abort status 600", [](VS& v) { h0(v).fault.emplace().abort.emplace().httpStatus = 600; }, Verdict::Valid,
       ""},
      {"abort small percentage",
       [](VS& v) {
         auto& a = h0(v).fault.emplace().abort.emplace();
         a.percentage = 0.001;
         a.httpStatus = 200;
       },
       Verdict::Valid, ""},
      {"abort tiny percentage",
       [](VS& v) {
         auto& a = h0(v).fault.emplace().abort.emplace();
         a.percentage = 0.00001;
         a.httpStatus = 200;
       },
       Verdict::Invalid, "spec.http[0].fault.abort.percentage.value"},
      {"abort negative percentage",
       [](VS& v) {
         auto& a = h0(v).fault.emplace().abort.emplace();
         a.percentage = -10;
         a.httpStatus = 200;
       },
       Verdict::Invalid, "spec.http[0].fault.abort.percentage.value"},
      {"grpc abort", [](VS& v) { h0(v).fault.emplace().abort.emplace().grpcStatus = "DEADLINE_EXCEEDED"; },
       Verdict::Valid, ""},
      {"grpc abort bad status", [](VS& v) { h0(v).fault.emplace().abort.emplace().grpcStatus = "BAD_STATUS"; },
       Verdict::Invalid, "spec.http[0].fault.abort.grpcStatus"},
      {"grpc abort numeric status", [](VS& v) { h0(v).fault.emplace().abort.emplace().grpcStatus = "14"; },
       Verdict::Invalid, "spec.http[0].fault.abort.grpcStatus"},
      {"http2 abort", [](VS& v) { h0(v).fault.emplace().abort.emplace().http2Error = "CANCEL"; }, Verdict::Invalid,
       "spec.http[0].fault.abort.http2Error"},
      {"abort without type warns", [](VS& v) { h0(v).fault.emplace().abort.emplace().percentage = 10; },
       Verdict::Warning, "spec.http[0].fault.abort"},
      {"delay",
       [](VS& v) {
         auto& d = h0(v).fault.emplace().delay.emplace();
         d.percentage = 20;
         d.fixedDelay = sec(3);
       },
       Verdict::Valid, ""},
      {"delay percent over 100",
       [](VS& v) {
         auto& d = h0(v).fault.emplace().delay.emplace();
         d.percentage = 101;
         d.fixedDelay = sec(3);
       },
       Verdict::Invalid, "spec.http[0].fault.delay.percentage.value"},
      {"delay with nanoseconds",
       [](VS& v) { h0(v).fault.emplace().delay.emplace().fixedDelay = sec(3) + std::chrono::nanoseconds(42); },
       Verdict::Invalid, "spec.http[0].fault.delay.fixedDelay"},
      {"exponential delay", [](VS& v) { h0(v).fault.emplace().delay.emplace().exponentialDelay = sec(3); },
       Verdict::Invalid, "spec.http[0].fault.delay.exponentialDelay"},

      // ---- retries (TestValidateHTTPRetry)
      {"retries",
       [](VS& v) {
         retries(v).attempts = 10;
         retries(v).perTryTimeout = sec(2);
         retries(v).retryOn = "5xx,gateway-error";
       },
       Verdict::Valid, ""},
      {"retries disabled", [](VS& v) { retries(v).attempts = 0; }, Verdict::Valid, ""},
      {"retry policy with zero attempts",
       [](VS& v) {
         retries(v).perTryTimeout = sec(2);
         retries(v).retryOn = "5xx,gateway-error";
       },
       Verdict::Invalid, "spec.http[0].retries.attempts"},
      {"retryRemoteLocalities with zero attempts", [](VS& v) { retries(v).retryRemoteLocalities = false; },
       Verdict::Invalid, "spec.http[0].retries.attempts"},
      {"retries status code",
       [](VS& v) {
         retries(v).attempts = 10;
         retries(v).retryOn = "503,connect-failure";
       },
       Verdict::Valid, ""},
      {"negative attempts",
       [](VS& v) {
         retries(v).attempts = -1;
         retries(v).perTryTimeout = sec(2);
       },
       Verdict::Invalid, "spec.http[0].retries.attempts"},
      {"perTryTimeout with nanoseconds",
       [](VS& v) {
         retries(v).attempts = 10;
         retries(v).perTryTimeout = sec(2) + std::chrono::nanoseconds(1);
       },
       Verdict::Invalid, "spec.http[0].retries.perTryTimeout"},
      {"perTryTimeout too small",
       [](VS& v) {
         retries(v).attempts = 10;
         retries(v).perTryTimeout = std::chrono::nanoseconds(999);
       },
       Verdict::Invalid, "spec.http[0].retries.perTryTimeout"},
      {"backoff too small",
       [](VS& v) {
         retries(v).attempts = 10;
         retries(v).backoff = std::chrono::nanoseconds(999);
       },
       Verdict::Invalid, "spec.http[0].retries.backoff"},
      {"unknown retryOn",
       [](VS& v) {
         retries(v).attempts = 10;
         retries(v).retryOn = "5xx,invalid policy";
       },
       Verdict::Invalid, "spec.http[0].retries.retryOn"},
      {"unknown retryOn status",
       [](VS& v) {
         retries(v).attempts = 10;
         retries(v).retryOn = "600,connect-failure";
       },
       Verdict::Invalid, "spec.http[0].retries.retryOn"},
      {"retryOn with a space is not trimmed",
       [](VS& v) {
         retries(v).attempts = 3;
         retries(v).retryOn = "5xx, reset";
       },
       Verdict::Invalid, "spec.http[0].retries.retryOn"},

      // ---- timeout
      {"timeout", [](VS& v) { h0(v).timeout = ms(1500); }, Verdict::Valid, ""},
      {"timeout 0s", [](VS& v) { h0(v).timeout = sec(0); }, Verdict::Invalid, "spec.http[0].timeout"},
      {"timeout sub-millisecond", [](VS& v) { h0(v).timeout = ms(1) + std::chrono::microseconds(5); },
       Verdict::Invalid, "spec.http[0].timeout"},

      // ---- rewrite (TestValidateHTTPRewrite, TestValidateUriRegexRewrite)
      {"rewrite uri and authority",
       [](VS& v) {
         h0(v).rewrite.emplace().uri = "/path/to/resource";
         h0(v).rewrite->authority = "foobar.org";
       },
       Verdict::Valid, ""},
      {"rewrite regex",
       [](VS& v) { h0(v).rewrite.emplace().uriRegexRewrite = model::RegexRewrite{"^/service/([^/]+)(/.*)$", "\\2/instance/\\1"}; },
       Verdict::Valid, ""},
      {"rewrite regex and uri",
       [](VS& v) {
         h0(v).rewrite.emplace().uri = "/path";
         h0(v).rewrite->uriRegexRewrite = model::RegexRewrite{"^/service/([^/]+)(/.*)$", "\\2/instance/\\1"};
       },
       Verdict::Invalid, "spec.http[0].rewrite.uriRegexRewrite"},
      {"empty rewrite", [](VS& v) { h0(v).rewrite.emplace(); }, Verdict::Invalid, "spec.http[0].rewrite"},
      {"rewrite regex missing match",
       [](VS& v) { h0(v).rewrite.emplace().uriRegexRewrite = model::RegexRewrite{"", "\\2/instance/\\1"}; },
       Verdict::Invalid, "spec.http[0].rewrite.uriRegexRewrite.match"},
      {"rewrite regex missing rewrite",
       [](VS& v) { h0(v).rewrite.emplace().uriRegexRewrite = model::RegexRewrite{"^/service/(.*)$", ""}; },
       Verdict::Invalid, "spec.http[0].rewrite.uriRegexRewrite.rewrite"},
      {"rewrite regex invalid", [](VS& v) { h0(v).rewrite.emplace().uriRegexRewrite = model::RegexRewrite{"[", "["}; },
       Verdict::Invalid, "spec.http[0].rewrite.uriRegexRewrite.match"},

      // ---- redirect (TestValidateHTTPRedirect)
      {"redirect without target",
       [](VS& v) {
         redirectOnly(v);
         h0(v).redirect = model::HTTPRedirect{};
       },
       Verdict::Invalid, "spec.http[0].redirect"},
      {"redirect code 299",
       [](VS& v) {
         redirectOnly(v);
         h0(v).redirect->redirectCode = 299;
       },
       Verdict::Invalid, "spec.http[0].redirect.redirectCode"},
      {"redirect code 400",
       [](VS& v) {
         redirectOnly(v);
         h0(v).redirect->redirectCode = 400;
       },
       Verdict::Invalid, "spec.http[0].redirect.redirectCode"},
      {"redirect code 308",
       [](VS& v) {
         redirectOnly(v);
         h0(v).redirect->redirectCode = 308;
       },
       Verdict::Valid, ""},
      {"redirect code 0 is unset",
       [](VS& v) {
         redirectOnly(v);
         h0(v).redirect->redirectCode = 0;
       },
       Verdict::Valid, ""},
      {"redirect only authority",
       [](VS& v) {
         redirectOnly(v);
         h0(v).redirect->uri.clear();
       },
       Verdict::Valid, ""},
      {"redirect port only",
       [](VS& v) {
         redirectOnly(v);
         h0(v).redirect = model::HTTPRedirect{};
         h0(v).redirect->port = 8443;
       },
       Verdict::Valid, ""},
      {"redirect derivePort only",
       [](VS& v) {
         redirectOnly(v);
         h0(v).redirect = model::HTTPRedirect{};
         h0(v).redirect->derivePort = model::RedirectPortSelection::FromRequestPort;
       },
       Verdict::Valid, ""},
      {"redirect port out of range",
       [](VS& v) {
         redirectOnly(v);
         h0(v).redirect->port = 70000;
       },
       Verdict::Invalid, "spec.http[0].redirect.port"},
      {"redirect bad scheme",
       [](VS& v) {
         redirectOnly(v);
         h0(v).redirect->scheme = "ftp";
       },
       Verdict::Invalid, "spec.http[0].redirect.scheme"},
      {"redirect prefixRewrite alone",
       [](VS& v) {
         redirectOnly(v);
         h0(v).redirect = model::HTTPRedirect{};
         h0(v).redirect->prefixRewrite = "/bar";
       },
       Verdict::Valid, ""},
      {"redirect uri and prefixRewrite",
       [](VS& v) {
         redirectOnly(v);
         h0(v).redirect->prefixRewrite = "/new";
       },
       Verdict::Invalid, "spec.http[0].redirect.prefixRewrite"},
      {"prefixRewrite with prefix match",
       [](VS& v) {
         redirectOnly(v);
         h0(v).redirect = model::HTTPRedirect{};
         h0(v).redirect->prefixRewrite = "/bar";
         addMatch(v).uri = prefix("/foo");
       },
       Verdict::Valid, ""},
      {"prefixRewrite with exact match",
       [](VS& v) {
         redirectOnly(v);
         h0(v).redirect = model::HTTPRedirect{};
         h0(v).redirect->prefixRewrite = "/bar";
         addMatch(v).uri = exact("/foo");
       },
       Verdict::Invalid, "spec.http[0].redirect.prefixRewrite"},
      {"prefixRewrite with regex match",
       [](VS& v) {
         redirectOnly(v);
         h0(v).redirect = model::HTTPRedirect{};
         h0(v).redirect->prefixRewrite = "/bar";
         addMatch(v).uri = regex("/foo.*");
       },
       Verdict::Invalid, "spec.http[0].redirect.prefixRewrite"},
      {"prefixRewrite with header-only match",
       [](VS& v) {
         redirectOnly(v);
         h0(v).redirect = model::HTTPRedirect{};
         h0(v).redirect->prefixRewrite = "/bar";
         addMatch(v).headers["x-foo"] = exact("bar");
       },
       Verdict::Valid, ""},

      // ---- direct response (TestValidateHTTPDirectResponse)
      {"direct response 199",
       [](VS& v) {
         h0(v).route.clear();
         h0(v).directResponse.emplace().status = 199;
       },
       Verdict::Invalid, "spec.http[0].directResponse.status"},
      {"direct response 601",
       [](VS& v) {
         h0(v).route.clear();
         h0(v).directResponse.emplace().status = 601;
       },
       Verdict::Invalid, "spec.http[0].directResponse.status"},
      {"direct response body over 100kb warns",
       [](VS& v) {
         h0(v).route.clear();
         auto& d = h0(v).directResponse.emplace();
         d.status = 200;
         d.body.emplace().string = std::string(101 * 1024, 'a');
       },
       Verdict::Warning, "spec.http[0].directResponse.body"},
      {"direct response bytes over 1mb",
       [](VS& v) {
         h0(v).route.clear();
         auto& d = h0(v).directResponse.emplace();
         d.status = 200;
         d.body.emplace().bytes = std::string(1024 * 1024 + 1, 'a');
       },
       Verdict::Invalid, "spec.http[0].directResponse.body"},
      {"direct response small body",
       [](VS& v) {
         h0(v).route.clear();
         auto& d = h0(v).directResponse.emplace();
         d.status = 200;
         d.body.emplace().string = "hello";
       },
       Verdict::Valid, ""},

      // ---- exportTo (Test_validateExportTo)
      {"exportTo *", [](VS& v) { v.spec.exportTo = {"*"}; }, Verdict::Valid, ""},
      {"exportTo . and ns1", [](VS& v) { v.spec.exportTo = {".", "ns1"}; }, Verdict::Valid, ""},
      {"exportTo namespaces", [](VS& v) { v.spec.exportTo = {"ns1", "ns2", "ns5"}; }, Verdict::Valid, ""},
      {"exportTo ~", [](VS& v) { v.spec.exportTo = {"~", "ns1"}; }, Verdict::Invalid, "spec.exportTo[0]"},
      {"exportTo . and *", [](VS& v) { v.spec.exportTo = {".", "*"}; }, Verdict::Invalid, "spec.exportTo"},
      {"exportTo * and ns1", [](VS& v) { v.spec.exportTo = {"*", "ns1"}; }, Verdict::Invalid, "spec.exportTo"},
      {"exportTo . and own namespace", [](VS& v) { v.spec.exportTo = {".", "ns5"}; }, Verdict::Invalid,
       "spec.exportTo[1]"},
      {"exportTo duplicates", [](VS& v) { v.spec.exportTo = {"ns1", "ns2", "ns1"}; }, Verdict::Invalid,
       "spec.exportTo[2]"},
      {"exportTo bad name", [](VS& v) { v.spec.exportTo = {"ns1_"}; }, Verdict::Invalid, "spec.exportTo[0]"},

      // ---- unreachable rules
      {"rule after catch-all warns",
       [](VS& v) {
         model::HTTPRoute second;
         second.match.emplace_back().uri = prefix("/x");
         second.route.push_back(httpDest("foo.baz"));
         v.spec.http.push_back(second);
       },
       Verdict::Warning, "spec.http[1]"},
      {"two catch-alls warn",
       [](VS& v) { v.spec.http.push_back(v.spec.http[0]); }, Verdict::Warning, "spec.http[1]"},
      {"repeated match warns",
       [](VS& v) {
         addMatch(v).uri = exact("/a");
         model::HTTPRoute second;
         second.match.emplace_back().uri = exact("/a");
         second.match.back().name = "differs-only-by-name";
         second.route.push_back(httpDest("foo.baz"));
         v.spec.http.push_back(second);
       },
       Verdict::Warning, "spec.http[1]"},
      {"distinct matches",
       [](VS& v) {
         addMatch(v).uri = exact("/a");
         model::HTTPRoute second;
         second.match.emplace_back().uri = exact("/b");
         second.route.push_back(httpDest("foo.baz"));
         v.spec.http.push_back(second);
       },
       Verdict::Valid, ""},
      {"covered prefix warns",
       [](VS& v) {
         addMatch(v).uri = prefix("/debug");
         model::HTTPRoute second;
         second.match.emplace_back().uri = prefix("/debugs");
         second.route.push_back(httpDest("foo.baz"));
         v.spec.http.push_back(second);
       },
       Verdict::Warning, "spec.http[1].match[0]"},
      {"longer prefix first is fine",
       [](VS& v) {
         addMatch(v).uri = prefix("/debugs");
         model::HTTPRoute second;
         second.match.emplace_back().uri = prefix("/debug");
         second.route.push_back(httpDest("foo.baz"));
         v.spec.http.push_back(second);
       },
       Verdict::Valid, ""},
      {"tcp rule after catch-all warns",
       [](VS& v) {
         v.spec.http.clear();
         model::TCPRoute t;
         t.route.push_back(l4Dest("foo.baz"));
         v.spec.tcp.push_back(t);
         t.match.emplace_back().port = 80;
         v.spec.tcp.push_back(t);
       },
       Verdict::Warning, "spec.tcp[1]"},

      // ---- metadata
      {"dry-run annotation", [](VS& v) { v.meta.annotations["istio.io/dry-run"] = "true"; }, Verdict::Invalid,
       "metadata.annotations.istio.io/dry-run"},
      {"always-reject annotation",
       [](VS& v) { v.meta.annotations["internal.istio.io/webhook-always-reject"] = ""; }, Verdict::Invalid,
       "metadata.annotations.internal.istio.io/webhook-always-reject"},
      {"internal parent annotation", [](VS& v) { v.meta.annotations["internal.istio.io/parents"] = "x"; },
       Verdict::Invalid, "metadata.annotations.internal.istio.io/parents"},

      // ---- Gateway API route semantics: gateway names and destinations are not checked
      {"gateway semantics",
       [](VS& v) {
         v.meta.annotations["internal.istio.io/route-semantics"] = "gateway";
         v.spec.gateways = {"ns1/Not_A_Label"};
         h0(v).route[0].destination.host = "*";
       },
       Verdict::Valid, ""},
      {"without gateway semantics",
       [](VS& v) {
         v.spec.gateways = {"ns1/Not_A_Label"};
         h0(v).route[0].destination.host = "*";
       },
       Verdict::Invalid, "spec.gateways[0]"},
  };
  return kCases;
}

class VirtualServiceRules : public ::testing::TestWithParam<C> {};

TEST_P(VirtualServiceRules, Verdict) {
  const C& c = GetParam();
  VS vs = baseVs();
  c.mutate(vs);
  expectVerdict(validateVirtualService(vs), c.want, c.field);
}

INSTANTIATE_TEST_SUITE_P(Istio, VirtualServiceRules, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<C>& info) {
                           std::string n;
                           for (char ch : info.param.name) {
                             n += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           }
                           return n + "_" + std::to_string(info.index);
                         });

TEST(VirtualServiceDiagnostics, CarryObjectAndLine) {
  VS vs = baseVs();
  vs.source.file = "vs.yaml";
  vs.source.line = 1;
  vs.source.fieldLines["spec.http[0].timeout"] = 9;
  h0(vs).timeout = sec(0);
  auto d = validateVirtualService(vs);
  ASSERT_EQ(d.items().size(), 1u) << dump(d);
  const auto& item = d.items()[0];
  EXPECT_EQ(item.file, "vs.yaml");
  EXPECT_EQ(item.line, 9);
  EXPECT_EQ(item.kind, "VirtualService");
  EXPECT_EQ(item.ns, "ns5");
  EXPECT_EQ(item.name, "vs");
  EXPECT_EQ(item.field, "spec.http[0].timeout");
  EXPECT_EQ(item.message, "duration must be greater than 1ms");
}

TEST(VirtualServiceDiagnostics, MessagesFollowIstio) {
  VS vs = baseVs();
  retries(vs).attempts = 3;
  retries(vs).retryOn = "5xx,bogus";
  h0(vs).route = {httpDest("a.b"), httpDest("c.d")};
  auto d = validateVirtualService(vs);
  std::vector<std::string> messages;
  for (const auto& item : d.items()) {
    messages.push_back(item.message);
  }
  EXPECT_THAT(messages, ::testing::UnorderedElementsAre("\"bogus\" is not a valid retryOn policy",
                                                        "total destination weight = 0"));
}

}  // namespace
}  // namespace sluice::validate::testing
