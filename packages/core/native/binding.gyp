{
  "targets": [
    {
      "target_name": "litv2_native",
      "sources": [
        "src/addon.cc",
        "src/thread_pool.cc",
        "src/gemm.cc",
        "src/conv.cc",
        "src/eltwise.cc",
        "src/layout.cc",
        "src/fused.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-march=native", "-fno-math-errno", "-Wall", "-Wno-unused-parameter"],
      "libraries": ["-lopenblas", "-lpthread"]
    }
  ]
}
