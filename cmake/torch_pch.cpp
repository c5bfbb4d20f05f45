// Anchors the precompiled <torch/torch.h> that every LibTorch target reuses
// (aaren_torch_pch in CMakeLists.txt). Nothing else belongs here.
