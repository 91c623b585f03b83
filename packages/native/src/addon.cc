// N-API entry points. Every kernel takes one ArrayBuffer (the tfjs wasm heap, or any buffer) and byte offsets
// of its tensors in it, so the wasm backend's tensors are read and written in place (no copies).
#include <cmath>
#include <node_api.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "conv.h"
#include "thread-pool.h"

namespace {

using road::ConvGeom;
using road::Isa;
using road::ThreadPool;

// The pool is shared by every JS thread that loaded the addon. Each kernel call holds its own reference for the
// whole call, so configure({ threads }) on one thread never destroys a pool that a kernel on another is using.
std::mutex g_pool_mu;
std::shared_ptr<ThreadPool> g_pool;
Isa g_isa = Isa::kGeneric;
Isa g_best_isa = Isa::kGeneric;

int default_threads() {
  const char* env = std::getenv("ROAD_NATIVE_THREADS");
  if (env != nullptr && *env != '\0') {
    int v = std::atoi(env);
    if (v >= 1 && v <= 256) return v;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

std::shared_ptr<ThreadPool> pool() {
  std::lock_guard<std::mutex> lock(g_pool_mu);
  if (!g_pool) g_pool = std::make_shared<ThreadPool>(default_threads());
  return g_pool;
}

// The kernel running now (for a watchdog on another thread: a stalled training step can say where it is stuck).
// One slot for the process: with kernels on several JS threads it shows the latest to start.
struct InFlight {
  std::atomic<int> kernel{0};  // 0: none; else an index into kKernelNames
  std::atomic<long long> started_ns{0};
  std::atomic<int> geom[15];
};
InFlight g_in_flight;
const char* const kKernelNames[] = {"", "conv2d", "conv2dBackpropInput", "conv2dBackpropFilter", "adam"};

long long now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class InFlightScope {
 public:
  InFlightScope(int kernel, const road::ConvGeom* g) {
    const int v[15] = {g ? g->n : 0, g ? g->h : 0, g ? g->w : 0, g ? g->ci : 0, g ? g->oh : 0,
                       g ? g->ow : 0, g ? g->co : 0, g ? g->kh : 0, g ? g->kw : 0, g ? g->sh : 0,
                       g ? g->sw : 0, g ? g->dh : 0, g ? g->dw : 0, g ? g->top : 0, g ? g->left : 0};
    for (int i = 0; i < 15; i++) g_in_flight.geom[i].store(v[i], std::memory_order_relaxed);
    g_in_flight.started_ns.store(now_ns(), std::memory_order_relaxed);
    g_in_flight.kernel.store(kernel, std::memory_order_release);
  }
  ~InFlightScope() { g_in_flight.kernel.store(0, std::memory_order_release); }
  InFlightScope(const InFlightScope&) = delete;
  InFlightScope& operator=(const InFlightScope&) = delete;
};

struct Fail {
  std::string message;
  bool range = false;
};

#define CHECK_NAPI(env, call)                                    \
  do {                                                           \
    if ((call) != napi_ok) throw Fail{"N-API call failed: " #call}; \
  } while (0)

napi_value undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

std::vector<napi_value> args_of(napi_env env, napi_callback_info info, size_t want) {
  std::vector<napi_value> argv(want);
  size_t argc = want;
  CHECK_NAPI(env, napi_get_cb_info(env, info, &argc, argv.data(), nullptr, nullptr));
  if (argc < want) throw Fail{"expected " + std::to_string(want) + " arguments, got " + std::to_string(argc)};
  return argv;
}

double number_of(napi_env env, napi_value v, const char* what) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) throw Fail{std::string(what) + " must be a number"};
  return d;
}

struct Heap {
  char* data = nullptr;
  size_t bytes = 0;
};

Heap heap_of(napi_env env, napi_value v) {
  bool is_ab = false;
  CHECK_NAPI(env, napi_is_arraybuffer(env, v, &is_ab));
  if (!is_ab) throw Fail{"the first argument must be an ArrayBuffer (the wasm heap)"};
  Heap h;
  void* data = nullptr;
  CHECK_NAPI(env, napi_get_arraybuffer_info(env, v, &data, &h.bytes));
  h.data = static_cast<char*>(data);
  return h;
}

/** Pointer to `count` floats at byte `offset` of the heap, after checking that they lie inside it. */
float* floats_at(const Heap& h, double offset, size_t count, const char* what) {
  if (!(offset >= 0) || offset != static_cast<double>(static_cast<size_t>(offset)) ||
      static_cast<size_t>(offset) % 4 != 0) {
    throw Fail{std::string(what) + ": byte offset " + std::to_string(offset) + " is not a multiple of 4 ≥ 0", true};
  }
  size_t off = static_cast<size_t>(offset);
  if (off > h.bytes || count > (h.bytes - off) / 4) {
    throw Fail{std::string(what) + ": " + std::to_string(count) + " floats at byte " + std::to_string(off) +
                   " run past the end of the buffer (" + std::to_string(h.bytes) + " bytes)",
               true};
  }
  return reinterpret_cast<float*>(h.data + off);
}

ConvGeom geom_of(napi_env env, napi_value arr) {
  bool is_array = false;
  CHECK_NAPI(env, napi_is_array(env, arr, &is_array));
  uint32_t len = 0;
  if (is_array) CHECK_NAPI(env, napi_get_array_length(env, arr, &len));
  if (!is_array || len != 15) {
    throw Fail{"geometry must be an array of 15 integers [n,h,w,ci, oh,ow,co, kh,kw, sh,sw, dh,dw, top,left]"};
  }
  int v[15];
  for (uint32_t i = 0; i < 15; i++) {
    napi_value e;
    CHECK_NAPI(env, napi_get_element(env, arr, i, &e));
    double d = number_of(env, e, "geometry entry");
    if (d != static_cast<double>(static_cast<int>(d))) throw Fail{"geometry entries must be integers"};
    v[i] = static_cast<int>(d);
  }
  ConvGeom g{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
  if (g.n < 0 || g.h < 0 || g.w < 0 || g.ci < 0 || g.oh < 0 || g.ow < 0 || g.co < 0 || g.kh < 1 || g.kw < 1 ||
      g.sh < 1 || g.sw < 1 || g.dh < 1 || g.dw < 1) {
    throw Fail{"geometry has a negative size or a stride/dilation/filter size < 1", true};
  }
  return g;
}

size_t sz(long a, long b, long c, long d) { return static_cast<size_t>(a) * b * c * d; }

template <typename F>
napi_value guarded(napi_env env, F body) {
  try {
    return body();
  } catch (const Fail& f) {
    std::string m = "@road/native: " + f.message;
    if (f.range)
      napi_throw_range_error(env, nullptr, m.c_str());
    else
      napi_throw_type_error(env, nullptr, m.c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("@road/native: ") + e.what()).c_str());
  }
  return nullptr;
}

// conv2d(heap, xOff, wOff, biasOff | -1, yOff, geom, relu)
napi_value Conv2d(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto a = args_of(env, info, 7);
    Heap h = heap_of(env, a[0]);
    ConvGeom g = geom_of(env, a[5]);
    const float* x = floats_at(h, number_of(env, a[1], "x offset"), sz(g.n, g.h, g.w, g.ci), "x");
    const float* w = floats_at(h, number_of(env, a[2], "filter offset"), sz(g.kh, g.kw, g.ci, g.co), "filter");
    double bias_off = number_of(env, a[3], "bias offset");
    const float* bias = bias_off < 0 ? nullptr : floats_at(h, bias_off, g.co, "bias");
    float* y = floats_at(h, number_of(env, a[4], "y offset"), sz(g.n, g.oh, g.ow, g.co), "y");
    bool relu = false;
    CHECK_NAPI(env, napi_get_value_bool(env, a[6], &relu));
    InFlightScope scope(1, &g);
    road::conv2d_forward(*pool(), g_isa, g, x, w, bias, relu, y);
    return undefined(env);
  });
}

// conv2dBackpropInput(heap, dyOff, wOff, dxOff, geom)
napi_value Conv2dBackpropInput(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto a = args_of(env, info, 5);
    Heap h = heap_of(env, a[0]);
    ConvGeom g = geom_of(env, a[4]);
    const float* dy = floats_at(h, number_of(env, a[1], "dy offset"), sz(g.n, g.oh, g.ow, g.co), "dy");
    const float* w = floats_at(h, number_of(env, a[2], "filter offset"), sz(g.kh, g.kw, g.ci, g.co), "filter");
    float* dx = floats_at(h, number_of(env, a[3], "dx offset"), sz(g.n, g.h, g.w, g.ci), "dx");
    InFlightScope scope(2, &g);
    road::conv2d_backprop_input(*pool(), g_isa, g, dy, w, dx);
    return undefined(env);
  });
}

// conv2dBackpropFilter(heap, xOff, dyOff, dwOff, geom)
napi_value Conv2dBackpropFilter(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto a = args_of(env, info, 5);
    Heap h = heap_of(env, a[0]);
    ConvGeom g = geom_of(env, a[4]);
    const float* x = floats_at(h, number_of(env, a[1], "x offset"), sz(g.n, g.h, g.w, g.ci), "x");
    const float* dy = floats_at(h, number_of(env, a[2], "dy offset"), sz(g.n, g.oh, g.ow, g.co), "dy");
    float* dw = floats_at(h, number_of(env, a[3], "dw offset"), sz(g.kh, g.kw, g.ci, g.co), "dw");
    InFlightScope scope(3, &g);
    road::conv2d_backprop_filter(*pool(), g_isa, g, x, dy, dw);
    return undefined(env);
  });
}

// adam(heap, table: Float64Array [xOff, mOff, vOff, gOff, oxOff, omOff, ovOff, count] per variable,
//      consts: Float64Array [b1, omb1, b2, omb2, d1, d2, eps, nlr] (float32 values))
// One Adam step, every intermediate rounded to float32 in the order of tfjs's AdamOptimizer: the result equals the
// stock op-by-op update on a float32 backend bit for bit (float32 +, ×, ÷, √ are correctly rounded, as JS's
// Math.fround of the double result is; no FMA contraction in this function).
__attribute__((optimize("fp-contract=off"))) void adam_arrays(const float* x, const float* m, const float* v,
                                                               const float* g, float* ox, float* om, float* ov,
                                                               size_t n, const float* c) {
  const float b1 = c[0], omb1 = c[1], b2 = c[2], omb2 = c[3], d1 = c[4], d2 = c[5], eps = c[6], nlr = c[7];
  for (size_t j = 0; j < n; j++) {
    const float gj = g[j];
    const float p1 = m[j] * b1, p2 = gj * omb1;
    const float mj = p1 + p2;
    const float q1 = v[j] * b2, gg = gj * gj, q2 = gg * omb2;
    const float vj = q1 + q2;
    const float mh = mj / d1, vh = vj / d2;
    const float den = std::sqrt(vh) + eps;
    const float ratio = mh / den;
    const float upd = ratio * nlr;
    ox[j] = upd + x[j];
    om[j] = mj;
    ov[j] = vj;
  }
}

const double* doubles_of(napi_env env, napi_value v, size_t* len, const char* what) {
  bool is_ta = false;
  CHECK_NAPI(env, napi_is_typedarray(env, v, &is_ta));
  napi_typedarray_type type;
  void* data = nullptr;
  if (is_ta) CHECK_NAPI(env, napi_get_typedarray_info(env, v, &type, len, &data, nullptr, nullptr));
  if (!is_ta || type != napi_float64_array) throw Fail{std::string(what) + " must be a Float64Array"};
  return static_cast<const double*>(data);
}

napi_value Adam(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto a = args_of(env, info, 3);
    Heap h = heap_of(env, a[0]);
    size_t rows = 0, nc = 0;
    const double* table = doubles_of(env, a[1], &rows, "adam table");
    const double* cd = doubles_of(env, a[2], &nc, "adam constants");
    if (rows % 8 != 0) throw Fail{"adam table: 8 numbers per variable expected"};
    if (nc != 8) throw Fail{"adam constants: 8 numbers expected [b1, omb1, b2, omb2, d1, d2, eps, nlr]"};
    float c[8];
    for (int i = 0; i < 8; i++) c[i] = static_cast<float>(cd[i]);
    InFlightScope scope(4, nullptr);
    for (size_t r = 0; r < rows; r += 8) {
      const double cnt = table[r + 7];
      if (!(cnt >= 0) || cnt != static_cast<double>(static_cast<size_t>(cnt))) throw Fail{"adam table: bad count"};
      const size_t n = static_cast<size_t>(cnt);
      adam_arrays(floats_at(h, table[r], n, "adam x"), floats_at(h, table[r + 1], n, "adam m"),
                  floats_at(h, table[r + 2], n, "adam v"), floats_at(h, table[r + 3], n, "adam g"),
                  floats_at(h, table[r + 4], n, "adam x out"), floats_at(h, table[r + 5], n, "adam m out"),
                  floats_at(h, table[r + 6], n, "adam v out"), n, c);
    }
    return undefined(env);
  });
}

napi_value make_info(napi_env env) {
  napi_value obj, threads, isa, best;
  CHECK_NAPI(env, napi_create_object(env, &obj));
  CHECK_NAPI(env, napi_create_int32(env, pool()->size(), &threads));
  CHECK_NAPI(env, napi_create_string_utf8(env, road::isa_name(g_isa), NAPI_AUTO_LENGTH, &isa));
  CHECK_NAPI(env, napi_create_string_utf8(env, road::isa_name(g_best_isa), NAPI_AUTO_LENGTH, &best));
  CHECK_NAPI(env, napi_set_named_property(env, obj, "threads", threads));
  CHECK_NAPI(env, napi_set_named_property(env, obj, "isa", isa));
  CHECK_NAPI(env, napi_set_named_property(env, obj, "bestIsa", best));
  return obj;
}

// info() → { threads, isa, bestIsa }
napi_value Info(napi_env env, napi_callback_info) {
  return guarded(env, [&] { return make_info(env); });
}

// configure({ threads?, isa? }) → info(); threads 0 = default (ROAD_NATIVE_THREADS or the core count).
napi_value Configure(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto a = args_of(env, info, 1);
    napi_valuetype type;
    CHECK_NAPI(env, napi_typeof(env, a[0], &type));
    if (type != napi_object) throw Fail{"configure expects an object { threads?, isa? }"};
    bool has = false;
    CHECK_NAPI(env, napi_has_named_property(env, a[0], "threads", &has));
    if (has) {
      napi_value v;
      CHECK_NAPI(env, napi_get_named_property(env, a[0], "threads", &v));
      double d = number_of(env, v, "threads");
      if (d < 0 || d > 256 || d != static_cast<double>(static_cast<int>(d))) {
        throw Fail{"threads must be an integer in [0, 256], got " + std::to_string(d), true};
      }
      int n = d == 0 ? default_threads() : static_cast<int>(d);
      std::shared_ptr<ThreadPool> old;
      {
        std::lock_guard<std::mutex> lock(g_pool_mu);
        if (!g_pool || g_pool->size() != n) {
          old = std::move(g_pool);
          g_pool = std::make_shared<ThreadPool>(n);
        }
      }
      // `old` is joined here (or by the last kernel still using it), outside the lock.
    }
    CHECK_NAPI(env, napi_has_named_property(env, a[0], "isa", &has));
    if (has) {
      napi_value v;
      CHECK_NAPI(env, napi_get_named_property(env, a[0], "isa", &v));
      char buf[32] = {0};
      size_t len = 0;
      if (napi_get_value_string_utf8(env, v, buf, sizeof buf, &len) != napi_ok) throw Fail{"isa must be a string"};
      std::string name(buf, len);
      if (name == "generic") {
        g_isa = Isa::kGeneric;
      } else if (name == "avx2-fma" || name == "best") {
        if (name == "avx2-fma" && g_best_isa != Isa::kAvx2) throw Fail{"isa 'avx2-fma' is not supported by this CPU", true};
        g_isa = g_best_isa;
      } else {
        throw Fail{"isa must be 'generic', 'avx2-fma' or 'best', got '" + name + "'", true};
      }
    }
    return make_info(env);
  });
}

// inFlight() → null, or { kernel, geometry, seconds } of the kernel running now (on any thread). Safe to call from
// a worker thread while the main thread is inside that kernel.
napi_value InFlightInfo(napi_env env, napi_callback_info) {
  return guarded(env, [&] {
    const int k = g_in_flight.kernel.load(std::memory_order_acquire);
    if (k <= 0 || k > 4) {
      napi_value n;
      CHECK_NAPI(env, napi_get_null(env, &n));
      return n;
    }
    napi_value obj, name, geom, secs;
    CHECK_NAPI(env, napi_create_object(env, &obj));
    CHECK_NAPI(env, napi_create_string_utf8(env, kKernelNames[k], NAPI_AUTO_LENGTH, &name));
    CHECK_NAPI(env, napi_create_array_with_length(env, 15, &geom));
    for (uint32_t i = 0; i < 15; i++) {
      napi_value e;
      CHECK_NAPI(env, napi_create_int32(env, g_in_flight.geom[i].load(std::memory_order_relaxed), &e));
      CHECK_NAPI(env, napi_set_element(env, geom, i, e));
    }
    const double seconds = (now_ns() - g_in_flight.started_ns.load(std::memory_order_relaxed)) / 1e9;
    CHECK_NAPI(env, napi_create_double(env, seconds, &secs));
    CHECK_NAPI(env, napi_set_named_property(env, obj, "kernel", name));
    if (k != 4) CHECK_NAPI(env, napi_set_named_property(env, obj, "geometry", geom));
    CHECK_NAPI(env, napi_set_named_property(env, obj, "seconds", secs));
    return obj;
  });
}

// exitProcess(code): ends the whole process at once with `code` (std::_Exit: no JS, no atexit handlers), from any
// thread. For a watchdog on a worker thread when the main thread is stuck inside synchronous code; write what
// must be said (fs.writeSync) before calling it.
napi_value ExitProcess(napi_env env, napi_callback_info info) {
  return guarded(env, [&] {
    auto a = args_of(env, info, 1);
    const double code = number_of(env, a[0], "exit code");
    if (!(code >= 0 && code <= 255) || code != static_cast<double>(static_cast<int>(code)))
      throw Fail{"exit code must be an integer in [0, 255]", true};
    std::fflush(nullptr);
    std::_Exit(static_cast<int>(code));
    return undefined(env);
  });
}

napi_value Init(napi_env env, napi_value exports) {
  g_best_isa = road::detect_isa();
  g_isa = g_best_isa;
  const char* isa_env = std::getenv("ROAD_NATIVE_ISA");
  if (isa_env != nullptr && std::strcmp(isa_env, "generic") == 0) g_isa = Isa::kGeneric;
  napi_property_descriptor props[] = {
      {"conv2d", nullptr, Conv2d, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropInput", nullptr, Conv2dBackpropInput, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropFilter", nullptr, Conv2dBackpropFilter, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adam", nullptr, Adam, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"configure", nullptr, Configure, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"inFlight", nullptr, InFlightInfo, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"exitProcess", nullptr, ExitProcess, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
