{
  "targets": [
    {
      "target_name": "lstm_lab",
      "sources": ["lstm_lab.cc"],
      "defines": ["NAPI_VERSION=8"],
      # -O3, no -march=native (the pointwise loops carry an AVX2/FMA clone via target_clones).
      # -fno-tree-pre: GCC's PRE otherwise splits the clamps in fast_exp into constant paths and
      # the pointwise loops stop vectorising. -fno-math-errno: lets libm calls vectorise/inline.
      "cflags": ["-O3", "-fno-math-errno", "-fno-tree-pre"],
      "cflags_cc": ["-O3", "-fno-math-errno", "-fno-tree-pre", "-std=c++17"],
      "cflags!": ["-O2", "-O0"],
      "cflags_cc!": ["-O2", "-O0"],
      "libraries": ["-ldl"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O3"]
      }
    }
  ]
}
