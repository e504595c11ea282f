//! The crate's bf16 layers compute exactly what ATen computes on bf16 operands: the input,
//! weight and bias cast to bf16, then the convolution or product in bf16. Nothing else is
//! rounded or reordered, which is what `torch.autocast` does to these three ops.
use gans::precision::{self, Precision};
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

fn bf16(t: &Tensor) -> Tensor {
    t.to_kind(Kind::BFloat16)
}

/// Equal element for element and of the same kind (bf16, where the layer's output stays).
fn assert_same(layer: &Tensor, by_hand: &Tensor, what: &str) {
    assert_eq!(
        layer.kind(),
        Kind::BFloat16,
        "{what}: the output stays bf16"
    );
    assert_eq!(by_hand.kind(), Kind::BFloat16);
    assert!(
        layer.equal(by_hand),
        "{what}: differs from the op on bf16 operands"
    );
}

#[test]
fn each_bf16_layer_is_the_op_on_bf16_operands_exactly() {
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let conv_config = nn::ConvConfig {
        stride: 2,
        padding: 1,
        ..Default::default()
    };
    let conv = precision::conv2d(&root / "conv", 3, 8, 4, conv_config);
    let deconv_config = nn::ConvTransposeConfig {
        stride: 2,
        padding: 1,
        ..Default::default()
    };
    let deconv = precision::conv_transpose2d(&root / "deconv", 8, 3, 4, deconv_config);
    let linear = precision::linear(&root / "linear", 12, 5, Default::default());
    let x = Tensor::randn([2, 3, 8, 8], (Kind::Float, Device::Cpu));
    let h = Tensor::randn([2, 8, 4, 4], (Kind::Float, Device::Cpu));
    let flat = Tensor::randn([4, 12], (Kind::Float, Device::Cpu));

    let (conv_out, deconv_out, linear_out, from_bf16) =
        precision::autocast(Precision::Bf16, || {
            (
                conv.forward(&x),
                deconv.forward(&h),
                linear.forward(&flat),
                // an input already in bf16 (the previous layer's output) is used as it is
                conv.forward(&bf16(&x)),
            )
        });
    let conv_by_hand = bf16(&x).conv2d(
        &bf16(&conv.ws),
        conv.bs.as_ref().map(bf16).as_ref(),
        [2, 2],
        [1, 1],
        [1, 1],
        1,
    );
    assert_same(&conv_out, &conv_by_hand, "conv2d");
    assert_same(&from_bf16, &conv_by_hand, "conv2d of a bf16 input");
    let deconv_by_hand = bf16(&h).conv_transpose2d(
        &bf16(&deconv.ws),
        deconv.bs.as_ref().map(bf16).as_ref(),
        [2, 2],
        [1, 1],
        [0, 0],
        1,
        [1, 1],
    );
    assert_same(&deconv_out, &deconv_by_hand, "conv_transpose2d");
    let linear_by_hand =
        bf16(&flat).linear(&bf16(&linear.ws), linear.bs.as_ref().map(bf16).as_ref());
    assert_same(&linear_out, &linear_by_hand, "linear");

    // and the rounding is real: the fp32 op gives other numbers
    let conv_fp32 = conv.forward(&x);
    assert_eq!(conv_fp32.kind(), Kind::Float);
    assert!(!conv_fp32.equal(&precision::fp32(conv_out)));
}

#[test]
fn spectral_norms_weight_goes_through_the_same_cast() {
    tch::manual_seed(1);
    let vs = nn::VarStore::new(Device::Cpu);
    let conv = precision::conv2d(vs.root() / "conv", 2, 4, 3, Default::default());
    let x = Tensor::randn([1, 2, 5, 5], (Kind::Float, Device::Cpu));
    let scaled = &conv.ws * 0.37;
    let out = precision::autocast(Precision::Bf16, || conv.with_weight(&x, &scaled));
    let by_hand = bf16(&x).conv2d(
        &bf16(&scaled),
        conv.bs.as_ref().map(bf16).as_ref(),
        [1, 1],
        [0, 0],
        [1, 1],
        1,
    );
    assert_same(&out, &by_hand, "conv2d with a given weight");
}

/// A generator and a discriminator written with `tch`'s own layers, which no precision switch
/// reaches.
struct PlainToy;

struct PlainG(nn::Linear);
struct PlainD(nn::Linear);

impl gans::game::Generator for PlainG {
    fn generate(&self, z: &Tensor, _labels: Option<&Tensor>, _train: bool) -> Tensor {
        z.apply(&self.0)
    }
}

impl gans::game::Discriminator for PlainD {
    fn score(&self, x: &Tensor, _labels: Option<&Tensor>, _train: bool) -> anyhow::Result<Tensor> {
        Ok(x.apply(&self.0).view([-1]))
    }
}

impl gans::game::GanModel for PlainToy {
    fn name(&self) -> &'static str {
        "plain-toy"
    }
    fn latent_dim(&self) -> Option<i64> {
        Some(2)
    }
    fn example_shape(&self) -> Vec<i64> {
        vec![2]
    }
    fn build(&self, vs: &nn::VarStore) -> anyhow::Result<gans::game::Networks> {
        let g: Box<dyn gans::game::Generator> = Box::new(PlainG(nn::linear(
            vs.root() / "generator",
            2,
            2,
            Default::default(),
        )));
        let d: Box<dyn gans::game::Discriminator> = Box::new(PlainD(nn::linear(
            vs.root() / "discriminator",
            2,
            1,
            Default::default(),
        )));
        gans::game::Networks::named(
            vec![("generator".into(), g)],
            vec![("discriminator".into(), d)],
        )
    }
}

#[test]
fn bf16_is_refused_for_networks_without_the_precision_layers() {
    use gans::data::toy2d::{Toy2d, Toy2dKind};
    use gans::models::toy::ToyConfig;
    use gans::train::{ModelConfig, TrainConfig, Trainer};
    if gans::precision::check_supported(Precision::Bf16, Device::Cpu).is_err() {
        eprintln!("skipped: this CPU trains no bf16");
        return;
    }
    let config = TrainConfig::toy(ToyConfig::default())
        .model(ModelConfig::custom(PlainToy))
        .batch_size(16)
        .quiet();
    let ring = || Toy2d::new(Toy2dKind::Ring, Device::Cpu);
    // fp32 trains
    Trainer::new(config.clone(), ring())
        .unwrap()
        .train(2)
        .unwrap();
    // bf16 would train in fp32 without a word: refused, by name, at the first step
    let mut trainer = Trainer::new(config.precision(Precision::Bf16), ring()).unwrap();
    let error = trainer.train(2).unwrap_err().to_string();
    assert!(
        error.contains("no layer of this run's networks multiplied in bf16"),
        "{error}"
    );
    assert!(error.contains("gans::precision"), "{error}");
    // the crate's own toy model switches, so the same run in bf16 trains
    let toy = TrainConfig::toy(ToyConfig::default())
        .batch_size(16)
        .quiet()
        .precision(Precision::Bf16);
    Trainer::new(toy, ring()).unwrap().train(2).unwrap();
}

#[test]
fn a_trainers_layers_follow_its_switch_not_the_threads() {
    // What the evcxr kernel needs: layers built under a switch read that switch, whatever the
    // thread-local autocast says (a notebook cell has its own copy of the thread-locals).
    let vs = nn::VarStore::new(Device::Cpu);
    let switch = precision::Switch::default();
    let conv = precision::building(&switch, || {
        precision::conv2d(vs.root() / "conv", 2, 3, 3, Default::default())
    });
    let x = Tensor::randn([1, 2, 5, 5], (Kind::Float, Device::Cpu));
    let thread_bf16 = precision::autocast(Precision::Bf16, || conv.forward(&x));
    assert_eq!(
        thread_bf16.kind(),
        Kind::Float,
        "the thread's autocast does not reach it"
    );
    assert!(!switch.take_used());
    let switched = switch.autocast(Precision::Bf16, || conv.forward(&x));
    assert_eq!(switched.kind(), Kind::BFloat16);
    assert!(switch.take_used(), "a bf16 product is noted");
    assert!(!switch.take_used(), "and the note is cleared when read");
    assert_eq!(
        switch.precision(),
        Precision::Fp32,
        "restored after the closure"
    );
    // layers built outside any trainer follow the thread's autocast, as before
    let free = precision::conv2d(vs.root() / "free", 2, 3, 3, Default::default());
    let out = precision::autocast(Precision::Bf16, || free.forward(&x));
    assert_eq!(out.kind(), Kind::BFloat16);
}
