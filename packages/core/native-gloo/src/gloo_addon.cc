// N-API binding of the few Gloo collectives data-parallel training needs: a full-mesh TCP context built through a
// rendezvous store (FileStore on a shared directory, or RedisStore), float32 sum all-reduce, broadcast, byte
// all-gather and barrier. Every call is synchronous on the calling thread; a Gloo failure (peer gone, timeout,
// unreachable store) becomes a JS Error carrying Gloo's message.
#include <napi.h>

#include <chrono>
#include <memory>
#include <string>

#include <gloo/allgather.h>
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/rendezvous/prefix_store.h>
#include <gloo/rendezvous/redis_store.h>
#include <gloo/transport/tcp/device.h>

namespace {

struct Handle {
  std::shared_ptr<gloo::rendezvous::Context> ctx;
  std::chrono::milliseconds timeout;
  uint32_t tag = 0;
};

Napi::Value fail(Napi::Env env, const std::string& what) {
  Napi::Error::New(env, what).ThrowAsJavaScriptException();
  return env.Undefined();
}

Handle* handleOf(const Napi::CallbackInfo& info) {
  return info[0].As<Napi::External<Handle>>().Data();
}

// connect({rank, size, fileStore?: dir, redisHost?, redisPort?, prefix, hostname, timeoutMs})
Napi::Value Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) return fail(env, "gloo.connect: options object expected");
  Napi::Object o = info[0].As<Napi::Object>();
  const int rank = o.Get("rank").As<Napi::Number>().Int32Value();
  const int size = o.Get("size").As<Napi::Number>().Int32Value();
  const std::string prefix = o.Get("prefix").As<Napi::String>().Utf8Value();
  const std::string hostname = o.Get("hostname").As<Napi::String>().Utf8Value();
  const auto timeout = std::chrono::milliseconds(o.Get("timeoutMs").As<Napi::Number>().Int64Value());
  try {
    std::unique_ptr<gloo::rendezvous::Store> base;
    if (o.Has("fileStore") && o.Get("fileStore").IsString()) {
      base.reset(new gloo::rendezvous::FileStore(o.Get("fileStore").As<Napi::String>().Utf8Value()));
    } else if (o.Has("redisHost") && o.Get("redisHost").IsString()) {
      base.reset(new gloo::rendezvous::RedisStore(o.Get("redisHost").As<Napi::String>().Utf8Value(),
                                                  o.Get("redisPort").As<Napi::Number>().Int32Value()));
    } else {
      return fail(env, "gloo.connect: give fileStore or redisHost");
    }
    gloo::rendezvous::PrefixStore store(prefix, *base);
    gloo::transport::tcp::attr attr;
    attr.hostname = hostname;
    auto dev = gloo::transport::tcp::CreateDevice(attr);
    auto ctx = std::make_shared<gloo::rendezvous::Context>(rank, size);
    ctx->setTimeout(timeout);
    ctx->connectFullMesh(store, dev);
    auto* h = new Handle{ctx, timeout, 0};
    return Napi::External<Handle>::New(env, h, [](Napi::Env, Handle* p) { delete p; });
  } catch (const std::exception& e) {
    return fail(env, e.what());
  }
}

// allreduceSum(handle, Float32Array): in place, sum over ranks.
Napi::Value AllreduceSum(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle* h = handleOf(info);
  auto arr = info[1].As<Napi::Float32Array>();
  try {
    gloo::AllreduceOptions opts(h->ctx);
    opts.setOutput<float>(arr.Data(), arr.ElementLength());
    opts.setReduceFunction(static_cast<void (*)(void*, const void*, const void*, size_t)>(&gloo::sum<float>));
    opts.setTag(h->tag++);
    opts.setTimeout(h->timeout);
    gloo::allreduce(opts);
  } catch (const std::exception& e) {
    return fail(env, e.what());
  }
  return env.Undefined();
}

// broadcast(handle, TypedArray, root): in place.
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle* h = handleOf(info);
  auto arr = info[1].As<Napi::TypedArray>();
  const int root = info[2].As<Napi::Number>().Int32Value();
  try {
    gloo::BroadcastOptions opts(h->ctx);
    auto* bytes = static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
    opts.setOutput<uint8_t>(bytes, arr.ByteLength());
    opts.setRoot(root);
    opts.setTag(h->tag++);
    opts.setTimeout(h->timeout);
    gloo::broadcast(opts);
  } catch (const std::exception& e) {
    return fail(env, e.what());
  }
  return env.Undefined();
}

// allgather(handle, Uint8Array in, Uint8Array out): out = concat of every rank's `in` (all the same length).
Napi::Value Allgather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle* h = handleOf(info);
  auto in = info[1].As<Napi::Uint8Array>();
  auto out = info[2].As<Napi::Uint8Array>();
  if (out.ByteLength() != in.ByteLength() * static_cast<size_t>(h->ctx->size)) return fail(env, "gloo.allgather: out must be size x in");
  try {
    gloo::AllgatherOptions opts(h->ctx);
    opts.setInput<uint8_t>(in.Data(), in.ByteLength());
    opts.setOutput<uint8_t>(out.Data(), out.ByteLength());
    opts.setTag(h->tag++);
    opts.setTimeout(h->timeout);
    gloo::allgather(opts);
  } catch (const std::exception& e) {
    return fail(env, e.what());
  }
  return env.Undefined();
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Handle* h = handleOf(info);
  try {
    gloo::BarrierOptions opts(h->ctx);
    opts.setTag(h->tag++);
    opts.setTimeout(h->timeout);
    gloo::barrier(opts);
  } catch (const std::exception& e) {
    return fail(env, e.what());
  }
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("connect", Napi::Function::New(env, Connect));
  exports.Set("allreduceSum", Napi::Function::New(env, AllreduceSum));
  exports.Set("broadcast", Napi::Function::New(env, Broadcast));
  exports.Set("allgather", Napi::Function::New(env, Allgather));
  exports.Set("barrier", Napi::Function::New(env, Barrier));
  return exports;
}

}  // namespace

NODE_API_MODULE(litv2_gloo, Init)
