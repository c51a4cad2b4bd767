//! The GPU: choosing an adapter and opening a device (here), apart from the work done on a
//! given device and queue ([`walks`]), as in wgpu's hello_compute.
//!
//! Precision: the GPU computes in f32 with positions relative to the launch centre, so
//! coordinates carry about 2^-24 of the launch radius R. A hit is decided by comparing a
//! distance against the skin thickness; below a few f32 ulps of R that comparison is noise,
//! so [`check_precision`] refuses a skin thickness under [`MIN_SKIN_ULPS`] ulps of R (the
//! default, 1e-6 of the body's bounding radius, is about 8 ulps). Counts and sums are
//! exact per block (32 walks) and added in f64 on the CPU.

pub mod walks;

use crate::body::Body;
use crate::error::{Error, Result};
use serde::Serialize;
use std::sync::{Arc, Mutex};

/// The adapter a run used, as the plan JSON reports it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GpuInfo {
    /// The adapter's name as the driver reports it; what `--gpu-adapter` matches.
    pub adapter: String,
    /// The wgpu backend in lower case (vulkan, metal, dx12, ...).
    pub backend: String,
    /// discrete, integrated, virtual, cpu (a software device such as lavapipe) or other.
    pub device_type: String,
}

/// An open device and its queue, with the errors wgpu reported since the last
/// [`Gpu::check`].
pub struct Gpu {
    /// Opened with the adapter's own limits, not wgpu's defaults.
    pub device: wgpu::Device,
    /// The one queue every batch is submitted to.
    pub queue: wgpu::Queue,
    /// Which adapter this is, for reports and error messages.
    pub info: GpuInfo,
    /// The limits the device was opened with, against which bodies and batches are checked.
    pub limits: wgpu::Limits,
    /// Validation and device errors, which wgpu reports through a callback (its default
    /// handler panics); [`Gpu::check`] turns them into this crate's errors.
    errors: Arc<Mutex<Vec<String>>>,
}

impl Gpu {
    /// The first device error since the last check, as an error.
    pub fn check(&self) -> Result<()> {
        let first = std::mem::take(&mut *self.errors.lock().unwrap_or_else(|e| e.into_inner())).into_iter().next();
        match first {
            Some(e) => Err(Error::Gpu(format!("{}: {e}", self.info.adapter))),
            None => Ok(()),
        }
    }
}

/// The smallest skin thickness the f32 path accepts, in units of f32's epsilon times R.
pub const MIN_SKIN_ULPS: f64 = 4.0;

/// Refuses a body whose skin thickness the f32 arithmetic cannot resolve.
pub fn check_precision(body: &Body) -> Result<()> {
    let min = MIN_SKIN_ULPS * f32::EPSILON as f64 * body.launch_radius;
    if body.skin_thickness < min {
        return Err(Error::Gpu(format!(
            "skin thickness {:e} is below what f32 resolves at launch radius {:e} (at least {:e}); use a CPU strategy or a larger --skin-thickness",
            body.skin_thickness, body.launch_radius, min
        )));
    }
    Ok(())
}

fn device_type(t: wgpu::DeviceType) -> &'static str {
    match t {
        wgpu::DeviceType::DiscreteGpu => "discrete",
        wgpu::DeviceType::IntegratedGpu => "integrated",
        wgpu::DeviceType::VirtualGpu => "virtual",
        wgpu::DeviceType::Cpu => "cpu",
        wgpu::DeviceType::Other => "other",
    }
}

fn info(a: &wgpu::Adapter) -> GpuInfo {
    let i = a.get_info();
    GpuInfo { adapter: i.name, backend: format!("{:?}", i.backend).to_lowercase(), device_type: device_type(i.device_type).into() }
}

/// Mesa's Vulkan drivers install an implicit `device_select` layer that, whenever adapters
/// are listed, asks Wayland and X11 which GPU drives the display. On a batch node with
/// neither, libwayland then prints "error: XDG_RUNTIME_DIR is invalid or not set" on
/// stderr, which reads as if the run had failed. trajwalk ranks adapters itself
/// (`--gpu-adapter`), so the layer is switched off (NODEVICE_SELECT=1) unless the user
/// steers it with MESA_VK_DEVICE_SELECT. Done once per process, by the first adapter
/// listing of any driver (command line, Python, MPI); a driver that can call it earlier,
/// while it has one thread, should (setting a variable races with threads reading the
/// environment).
pub fn quiet_mesa_device_select() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("NODEVICE_SELECT").is_none() && std::env::var_os("MESA_VK_DEVICE_SELECT").is_none() {
            std::env::set_var("NODEVICE_SELECT", "1");
        }
    });
}

/// Every adapter that can run compute shaders, best first (discrete, integrated, virtual,
/// other, software), from the backends `WGPU_BACKEND` allows (all by default).
fn adapters() -> Vec<wgpu::Adapter> {
    quiet_mesa_device_select();
    // Vulkan, Metal and DX12 unless WGPU_BACKEND says otherwise: the GL backend has no
    // compute on many drivers and complains on stderr about displays a batch node lacks.
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::PRIMARY;
    let instance = wgpu::Instance::new(desc.with_env());
    let mut all: Vec<wgpu::Adapter> = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
        .into_iter()
        .filter(|a| a.get_downlevel_capabilities().flags.contains(wgpu::DownlevelFlags::COMPUTE_SHADERS))
        .collect();
    let rank = |a: &wgpu::Adapter| match a.get_info().device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    };
    all.sort_by_key(rank);
    all
}

/// The adapter `name` picks (a case-insensitive substring of its name), or the best one.
fn pick(name: Option<&str>) -> Result<wgpu::Adapter> {
    let all = adapters();
    if all.is_empty() {
        let backends = std::env::var("WGPU_BACKEND").map(|b| format!(" (WGPU_BACKEND={b})")).unwrap_or_default();
        return Err(Error::Gpu(format!(
            "no GPU adapter found{backends}; without a GPU, Mesa's lavapipe (Debian: mesa-vulkan-drivers) provides a software Vulkan device"
        )));
    }
    match name {
        None => Ok(all.into_iter().next().expect("not empty")),
        Some(n) => {
            let found: Vec<GpuInfo> = all.iter().map(info).collect();
            all.into_iter().find(|a| a.get_info().name.to_lowercase().contains(&n.to_lowercase())).ok_or_else(|| {
                let list: Vec<String> = found.iter().map(|i| format!("{} ({}, {})", i.adapter, i.backend, i.device_type)).collect();
                Error::Gpu(format!("no GPU adapter matches --gpu-adapter '{n}'; found: {}", list.join(", ")))
            })
        }
    }
}

/// The adapter that would be used, without opening a device.
pub fn probe(name: Option<&str>) -> Result<GpuInfo> {
    pick(name).map(|a| info(&a))
}

/// What, besides the job, decides the bits of the GPU's walks on the adapter `name` picks:
/// its model and its driver with the driver's version (another driver compiles the same
/// kernels to other code). The ranks of a distributed GPU job must all report the same.
pub fn identity(name: Option<&str>) -> Result<String> {
    let i = pick(name)?.get_info();
    let backend = format!("{:?}", i.backend).to_lowercase();
    Ok(format!("{} ({backend} {:04x}:{:04x}, driver {} {})", i.name, i.vendor, i.device, i.driver, i.driver_info))
}

/// Opens a device on the chosen adapter with the adapter's own limits (large bodies need
/// large storage buffers).
pub fn open(name: Option<&str>) -> Result<Gpu> {
    let adapter = pick(name)?;
    let limits = adapter.limits();
    let desc = wgpu::DeviceDescriptor {
        label: Some("trajwalk"),
        required_features: wgpu::Features::empty(),
        required_limits: limits.clone(),
        ..Default::default()
    };
    let (device, queue) = pollster::block_on(adapter.request_device(&desc))
        .map_err(|e| Error::Gpu(format!("cannot open {}: {e}", adapter.get_info().name)))?;
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = errors.clone();
    device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| sink.lock().unwrap_or_else(|p| p.into_inner()).push(e.to_string())));
    Ok(Gpu { device, queue, info: info(&adapter), limits, errors })
}

/// One device per process and adapter choice, opened on first use: opening costs far more
/// than a small frame, and the planner, the run and the tests all want one.
pub fn shared(name: Option<&str>) -> Result<Arc<Gpu>> {
    static OPEN: Mutex<Vec<(Option<String>, Arc<Gpu>)>> = Mutex::new(Vec::new());
    let mut open_ones = OPEN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, g)) = open_ones.iter().find(|(n, _)| n.as_deref() == name) {
        return Ok(g.clone());
    }
    let g = Arc::new(open(name)?);
    open_ones.push((name.map(String::from), g.clone()));
    Ok(g)
}
