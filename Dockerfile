# Image for `scaleplan profile ... --emit-jobs`: CUDA runtime + scaleplan with its profiling extras.
#
#   docker build -t REGISTRY/scaleplan-profile:0.1 .
#   scaleplan profile mymodels.resnet:factory --input-shape 3x224x224 \
#       --emit-jobs jobs/ --accelerators L4,A10G,A100 --image REGISTRY/scaleplan-profile:0.1
#
# Add your model: derive from this image (see docs/profile.md, "Your model in the image"):
#   FROM REGISTRY/scaleplan-profile:0.1
#   COPY mymodels/ /models/mymodels/
#   RUN pip install --no-cache-dir -r /models/mymodels/requirements.txt
FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04

ENV DEBIAN_FRONTEND=noninteractive \
    PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    NO_COLOR=1 \
    PYTHONPATH=/models

RUN apt-get update \
 && apt-get install -y --no-install-recommends python3.11 python3.11-venv python3-pip \
 && rm -rf /var/lib/apt/lists/* \
 && python3.11 -m venv /opt/scaleplan

ENV PATH=/opt/scaleplan/bin:$PATH

# torch with CUDA 12.4 kernels, then scaleplan with the profiling extras (torch, onnx);
# onnxruntime-gpu gives ONNX models the CUDAExecutionProvider.
RUN pip install --upgrade pip \
 && pip install torch --index-url https://download.pytorch.org/whl/cu124

COPY . /src/scaleplan
RUN pip install "/src/scaleplan[torch,onnx]" \
 && pip uninstall -y onnxruntime && pip install onnxruntime-gpu \
 && rm -rf /src/scaleplan

WORKDIR /models
ENTRYPOINT []
CMD ["scaleplan", "profile", "--help"]
